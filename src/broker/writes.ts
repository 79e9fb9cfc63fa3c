/**
 * The writes of normal traffic: sending a message, moving a read cursor, and recording how far
 * each partner was pushed. Everything submitted within one tick commits in one transaction (one
 * fsync), so an ack never makes the next send wait for a commit of its own. A send is
 * acknowledged only after its commit; pushes follow the commit, in id order. The commit that
 * stores a message also records, for every live session that will be pushed it at once, that
 * its partner was pushed up to it: one UPDATE per batch, not per message, sharing the fsync.
 */
import { DuoError } from '../shared/errors.ts';
import { directConversationId } from '../shared/ids.ts';
import { WRITE_BATCH_MAX } from '../shared/limits.ts';
import { oneTarget, type Message, type TalkReply } from '../shared/protocol.ts';
import { Batcher, type BatchOutcome } from './batcher.ts';
import { isoNow, type Clock } from './clock.ts';
import { storageError } from './db.ts';
import type { Fanout } from './fanout.ts';
import type { ServiceHooks } from './hooks.ts';
import { MESSAGE_IDS_PER_EVENT } from './cluster/events.ts';
import type { Peers } from './cluster/peers.ts';
import type { Membership } from './membership.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { OfflineNotices } from './offline-notice.ts';
import { toMessage, type Store } from './store.ts';

export interface TalkInput {
  content: string;
  to?: string | undefined;
  conversationId?: string | undefined;
  clientMsgId?: string | undefined;
}

type Write =
  | { kind: 'talk'; senderId: string; input: TalkInput }
  | { kind: 'ack'; partnerId: string; conversationId: string; upTo: number }
  | { kind: 'pushed'; partnerId: string; upTo: number };

interface StagedTalk {
  reply: TalkReply;
  /** Absent for a retry that found its original: nothing new to push. */
  message?: Message;
}

/** A staged talk, for an ack where the cursor now stands (0: it did not move), else true. */
type Written = StagedTalk | number | boolean;

/** Direct conversations created in the batch being committed, with their two members. */
type CreatedDirect = Map<string, [string, string]>;

export class Writes {
  private readonly batcher: Batcher<Write, Written>;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly membership: Membership,
    private readonly fanout: Pick<Fanout, 'publish' | 'livePushes' | 'recorded' | 'read'>,
    private readonly notices: Pick<OfflineNotices, 'schedule'>,
    private readonly peers: Pick<Peers, 'inTransaction' | 'enabled' | 'caughtUpWith' | 'handedOwn'>,
    private readonly metrics: Pick<BrokerMetrics, 'commitTimer'>,
    private readonly hooks: Pick<ServiceHooks, 'beforeTalk'> = {},
  ) {
    this.batcher = new Batcher((items) => this.commit(items), WRITE_BATCH_MAX);
  }

  /** Stores a message and pushes it to its recipients. Resolves only after the commit. */
  talk(senderId: string, input: TalkInput): Promise<TalkReply> {
    // The edges validate this too; the service keeps its own contract for any other caller.
    if (!oneTarget(input)) {
      return Promise.reject(
        new DuoError('bad_request', 'Give exactly one of "to" (a partner id) or "conversationId".'),
      );
    }
    if (input.to !== undefined && input.to === senderId) {
      return Promise.reject(
        new DuoError('bad_request', 'You cannot send a message to yourself; "to" must be another partner id.'),
      );
    }
    return this.batcher.submit({ kind: 'talk', senderId, input }).then((written) => (written as StagedTalk).reply);
  }

  /** Marks read up to `upTo` in one conversation (committed with the other writes of its tick). */
  async ack(partnerId: string, conversationId: string, upTo: number): Promise<void> {
    await this.membership.require(conversationId, partnerId);
    const cursor = (await this.batcher.submit({ kind: 'ack', partnerId, conversationId, upTo })) as number;
    if (cursor === 0) return;
    this.notices.schedule(partnerId);
    // Where the cursor stands, not what was asked: never past the conversation's newest message.
    this.fanout.read(partnerId, conversationId, cursor);
  }

  /** Records that `partnerId` was pushed up to `upTo` (committed with the other writes of its tick). */
  async recordPushed(partnerId: string, upTo: number): Promise<void> {
    await this.batcher.submit({ kind: 'pushed', partnerId, upTo });
  }

  /**
   * Commits one batch. A send that is refused fails alone; a storage failure fails the batch and
   * acknowledges nothing.
   */
  private async commit(items: Write[]): Promise<Array<BatchOutcome<Written>>> {
    const createdDirect: CreatedDirect = new Map();
    /** Highest id each partner is recorded as pushed up to by this batch. */
    let pushed = new Map<string, number>();
    /** The newest message id stored before this batch (with other brokers only). */
    let storedBefore = 0;
    let inOrder = true;
    let staged: Array<BatchOutcome<Written>>;
    // Only sends store messages: a batch of acks and push records need not look at what other
    // brokers stored.
    const sends = items.some((item) => item.kind === 'talk');
    const committed = this.metrics.commitTimer();
    try {
      staged = await this.store.transaction(async (tx) => {
        const out: Array<BatchOutcome<Written>> = [];
        const messages: Message[] = [];
        // With other brokers, messages they stored just before may not have been announced here
        // yet: this batch's messages are then left to the pump, which reads them all in id order.
        if (this.peers.enabled && sends) storedBefore = await tx.maxMessageId();
        inOrder = this.peers.caughtUpWith(storedBefore);
        for (const item of items) {
          try {
            out.push({ ok: true, value: await this.stage(tx, item, createdDirect, messages) });
          } catch (error) {
            if (!(error instanceof DuoError)) throw error;
            out.push({ ok: false, error });
          }
        }
        pushed = inOrder ? this.fanout.livePushes(messages, createdDirect) : new Map<string, number>();
        for (const item of items) {
          if (item.kind === 'pushed') pushed.set(item.partnerId, Math.max(pushed.get(item.partnerId) ?? 0, item.upTo));
        }
        // Awaits cost ticks on the path of every send: only those with something to do are taken.
        if (pushed.size > 0) await tx.recordPushed(pushed);
        if (this.peers.enabled) await this.announce(tx, createdDirect, messages);
        return out;
      });
    } catch (error) {
      throw storageError(error);
    }
    committed();
    for (const [conversationId, pair] of createdDirect)
      for (const member of pair) this.membership.add(conversationId, member);
    this.fanout.recorded(pushed);
    let newest = 0;
    for (const outcome of staged) {
      if (outcome.ok && typeof outcome.value === 'object' && outcome.value.message) {
        this.fanout.publish(outcome.value.message, false, inOrder);
        newest = outcome.value.message.id;
      }
    }
    if (newest > 0) this.peers.handedOwn(newest, storedBefore);
    return staged;
  }

  /** Other brokers of the database hear of new conversations, then of the messages, at commit. */
  private async announce(tx: Store, createdDirect: CreatedDirect, messages: readonly Message[]): Promise<void> {
    for (const conversationId of createdDirect.keys())
      await this.peers.inTransaction(tx, { t: 'mem', c: conversationId });
    const ids = messages.map((m) => m.id);
    for (let i = 0; i < ids.length; i += MESSAGE_IDS_PER_EVENT)
      await this.peers.inTransaction(tx, { t: 'msg', ids: ids.slice(i, i + MESSAGE_IDS_PER_EVENT) });
  }

  /** Stages one write in the batch's transaction; a new message is also added to `messages`. */
  private async stage(tx: Store, item: Write, createdDirect: CreatedDirect, messages: Message[]): Promise<Written> {
    switch (item.kind) {
      case 'talk': {
        const talk = await this.stageTalk(tx, item.senderId, item.input, createdDirect);
        if (talk.message) messages.push(talk.message);
        return talk;
      }
      case 'ack': {
        const cursor = await tx.advanceCursor(item.conversationId, item.partnerId, item.upTo);
        // The partner's session may live on another broker: it hears of the move at commit.
        if (cursor > 0)
          await this.peers.inTransaction(tx, { t: 'read', p: item.partnerId, c: item.conversationId, u: cursor });
        return cursor;
      }
      case 'pushed':
        // Recorded together with the pushes of this batch's messages, below.
        return true;
    }
  }

  private async stageTalk(
    tx: Store,
    senderId: string,
    input: TalkInput,
    createdDirect: CreatedDirect,
  ): Promise<StagedTalk> {
    const conversationId =
      input.to !== undefined
        ? await this.directConversation(tx, senderId, input.to, createdDirect)
        : input.conversationId!;
    if (input.to === undefined) await this.membership.require(conversationId, senderId, tx);
    if (input.clientMsgId !== undefined) {
      const original = await tx.findByClientMsgId(senderId, input.clientMsgId);
      if (original) {
        return {
          reply: {
            messageId: original.id,
            conversationId: original.conversation_id,
            createdAt: original.created_at,
            duplicate: true,
          },
        };
      }
    }
    this.hooks.beforeTalk?.(conversationId, senderId);
    const row = {
      conversation_id: conversationId,
      sender: senderId,
      content: input.content,
      client_msg_id: input.clientMsgId ?? null,
      created_at: isoNow(this.clock),
    };
    const id = await tx.insertMessage(row);
    const message = toMessage({ id, ...row });
    return { reply: { messageId: id, conversationId, createdAt: row.created_at, duplicate: false }, message };
  }

  /** The direct conversation of sender and `to`, created in this transaction on first use. */
  private async directConversation(
    tx: Store,
    senderId: string,
    to: string,
    createdDirect: CreatedDirect,
  ): Promise<string> {
    const conversationId = directConversationId(senderId, to);
    if (this.membership.exists(conversationId) || createdDirect.has(conversationId)) return conversationId;
    // Another broker of the database may have created it moments ago.
    if (await this.membership.reload(conversationId, tx)) return conversationId;
    if (!(await tx.getPartner(to))) {
      throw new DuoError(
        'unknown_partner',
        `No partner is registered as "${to}". Call list_partners to see who exists.`,
      );
    }
    await tx.insertConversation(
      {
        id: conversationId,
        kind: 'direct',
        name: `${senderId} & ${to}`,
        created_by: senderId,
        created_at: isoNow(this.clock),
      },
      [senderId, to],
      0,
    );
    createdDirect.set(conversationId, [senderId, to]);
    return conversationId;
  }
}
