/**
 * The broker's operations, each written once. REST routes and the WebSocket handler are thin
 * adapters that validate input, call a method here with an authenticated partner id, and
 * serialise the result.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DuoError } from '../shared/errors.ts';
import { directConversationId, directMembers } from '../shared/ids.ts';
import {
  CloseCode,
  oneTarget,
  type ConversationSummary,
  type Message,
  type PartnerSummary,
  type RegisterReply,
  type TalkReply,
} from '../shared/protocol.ts';
import { Batcher, type BatchOutcome } from './batcher.ts';
import { Claims } from './claims.ts';
import { storageError } from './db.ts';
import { Membership } from './membership.ts';
import { updateNotice } from './notice.ts';
import type { MessageRow, PartnerRow } from './schema.ts';
import { Session, SessionRegistry, type SessionSocket } from './sessions.ts';
import type { Store } from './store.ts';
import { Wakeups } from './wakeups.ts';

export interface Clock {
  now(): Date;
}

export interface Logger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Where the human's seat (loop guard, watch stream) hooks into the service. Each is one call at
 * a fixed point; without hooks the service behaves exactly as before.
 */
export interface ServiceHooks {
  /** Before a message is stored (after the duplicate check); throws to refuse it. */
  beforeTalk?(conversationId: string, senderId: string): void;
  /** Every committed message, in id order, right after its commit. */
  committed?(message: Message): void;
  /** Every presence or status change of any partner. */
  presence?(partnerId: string, online: boolean, status: string | null): void;
}

export interface TalkInput {
  content: string;
  to?: string | undefined;
  conversationId?: string | undefined;
  clientMsgId?: string | undefined;
}

/** Messages handed to one REST response: commit once written, release if it was not. */
export interface Claim {
  commit(): Promise<void>;
  release(): void;
}

/** What the write batcher commits: sends and read-cursor moves, in one transaction per tick. */
type Write =
  | { kind: 'talk'; senderId: string; input: TalkInput }
  | { kind: 'ack'; partnerId: string; conversationId: string; upTo: number };

interface StagedTalk {
  reply: TalkReply;
  message?: Message;
}

/** A staged talk, or for an ack whether the cursor moved. */
type Written = StagedTalk | boolean;

const NOTICE_DELAY_MS = 250;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    from: row.sender,
    content: row.content,
    createdAt: row.created_at,
  };
}

export class BrokerService {
  readonly sessions = new SessionRegistry();
  private readonly membership = new Membership();
  private readonly wakeups = new Wakeups();
  private readonly restListeners = new Map<string, number>();
  private readonly claims = new Claims();
  private readonly noticeTimers = new Map<string, NodeJS.Timeout>();
  private readonly writes: Batcher<Write, Written>;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly hooks: ServiceHooks = {},
  ) {
    this.writes = new Batcher((items) => this.commitWrites(items));
  }

  async start(): Promise<void> {
    this.membership.load(await this.store.allMemberships());
  }

  /** Ends every session (1001) and records what each was pushed, while the database is open. */
  async closeSessions(): Promise<void> {
    await Promise.all(
      [...this.sessions.all()].map((session) => {
        session.close(CloseCode.goingAway, 'broker shutting down');
        return this.detachSession(session);
      }),
    );
  }

  /** Stops timers. */
  stop(): void {
    for (const timer of this.noticeTimers.values()) clearTimeout(timer);
    this.noticeTimers.clear();
  }

  private nowIso(): string {
    return this.clock.now().toISOString();
  }

  // ---------------------------------------------------------------- identity

  async register(
    input: { partnerId: string; name?: string | undefined; projectPath?: string | undefined },
    secret: string | undefined,
  ): Promise<RegisterReply> {
    const existing = await this.store.getPartner(input.partnerId);
    if (!existing) {
      const newSecret = randomBytes(32).toString('base64url');
      const row: PartnerRow = {
        id: input.partnerId,
        name: input.name ?? input.partnerId,
        secret_hash: hashSecret(newSecret),
        project_path: input.projectPath ?? null,
        status: null,
        notifications: 1,
        pushed_up_to: 0,
        created_at: this.nowIso(),
        last_seen: this.nowIso(),
      };
      try {
        await this.store.insertPartner(row);
      } catch (error) {
        // Two first registrations raced; the loser is told the id is taken.
        if ((error as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw idTaken(input.partnerId);
        throw error;
      }
      return { partnerId: row.id, name: row.name, created: true, secret: newSecret };
    }
    if (secret === undefined || !secretMatches(secret, existing.secret_hash)) throw idTaken(input.partnerId);
    const changes: Parameters<Store['updatePartner']>[1] = { last_seen: this.nowIso() };
    if (input.name !== undefined) changes.name = input.name;
    if (input.projectPath !== undefined) changes.project_path = input.projectPath;
    await this.store.updatePartner(existing.id, changes);
    return { partnerId: existing.id, name: input.name ?? existing.name, created: false };
  }

  /** The partner a bearer secret belongs to. */
  async authenticate(secret: string | undefined): Promise<PartnerRow> {
    if (!secret)
      throw new DuoError(
        'unauthorized',
        'This request needs your partner secret: send "Authorization: Bearer <secret>" (the secret /register returned the first time).',
      );
    const partner = await this.store.getPartnerBySecretHash(hashSecret(secret));
    if (!partner)
      throw new DuoError(
        'unauthorized',
        'That secret belongs to no partner. Use the secret /register returned the first time (the partner keeps it in its per-user secrets file).',
      );
    return partner;
  }

  /** The partner `partnerId`, if `secret` is its secret (compared in constant time). */
  async authenticateAs(partnerId: string, secret: string): Promise<PartnerRow> {
    const partner = await this.store.getPartner(partnerId);
    if (!partner || !secretMatches(secret, partner.secret_hash)) {
      throw new DuoError(
        'unauthorized',
        `Wrong or unknown secret for partner "${partnerId}". Register first, or use the secret the first registration returned.`,
      );
    }
    return partner;
  }

  async unregister(partnerId: string): Promise<void> {
    await this.store.updatePartner(partnerId, { last_seen: this.nowIso() });
    const session = this.sessions.get(partnerId);
    if (session) {
      session.close(CloseCode.unregistered, 'unregistered');
      void this.detachSession(session);
    }
  }

  // ---------------------------------------------------------------- sending

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
    return this.writes.submit({ kind: 'talk', senderId, input }).then((written) => (written as StagedTalk).reply);
  }

  /**
   * Commits everything submitted within one tick in one transaction (one fsync): sends and
   * read-cursor moves alike, so an ack never makes the next send wait for a commit of its own.
   * A send that is refused fails alone; a storage failure fails the batch and acknowledges
   * nothing. Pushes happen after the commit, in id order.
   */
  private async commitWrites(items: Write[]): Promise<Array<BatchOutcome<Written>>> {
    const createdDirect = new Map<string, [string, string]>();
    let staged: Array<BatchOutcome<Written>>;
    try {
      staged = await this.store.transaction(async (tx) => {
        const out: Array<BatchOutcome<Written>> = [];
        for (const item of items) {
          try {
            const value =
              item.kind === 'talk'
                ? await this.stageTalk(tx, item.senderId, item.input, createdDirect)
                : await tx.advanceCursor(item.conversationId, item.partnerId, item.upTo);
            out.push({ ok: true, value });
          } catch (error) {
            if (!(error instanceof DuoError)) throw error;
            out.push({ ok: false, error });
          }
        }
        return out;
      });
    } catch (error) {
      throw storageError(error);
    }
    for (const [conversationId, pair] of createdDirect)
      for (const member of pair) this.membership.add(conversationId, member);
    for (const outcome of staged) {
      if (outcome.ok && typeof outcome.value === 'object' && outcome.value.message) this.publish(outcome.value.message);
    }
    return staged;
  }

  private async stageTalk(
    tx: Store,
    senderId: string,
    input: TalkInput,
    createdDirect: Map<string, [string, string]>,
  ): Promise<StagedTalk> {
    const conversationId =
      input.to !== undefined
        ? await this.directConversation(tx, senderId, input.to, createdDirect)
        : input.conversationId!;
    if (input.to === undefined) this.requireMember(conversationId, senderId);
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
      created_at: this.nowIso(),
    };
    const id = await tx.insertMessage(row);
    const message = toMessage({ id, ...row });
    return { reply: { messageId: id, conversationId, createdAt: row.created_at, duplicate: false }, message };
  }

  private async directConversation(
    tx: Store,
    senderId: string,
    to: string,
    createdDirect: Map<string, [string, string]>,
  ): Promise<string> {
    const conversationId = directConversationId(senderId, to);
    if (this.membership.exists(conversationId) || createdDirect.has(conversationId)) return conversationId;
    if (!(await tx.getPartner(to))) {
      throw new DuoError(
        'unknown_partner',
        `No partner is registered as "${to}". Call list_partners (GET /partners) to see who exists.`,
      );
    }
    const createdAt = this.nowIso();
    await tx.insertConversation(
      { id: conversationId, kind: 'direct', name: `${senderId} & ${to}`, created_by: senderId, created_at: createdAt },
      [senderId, to],
      0,
    );
    createdDirect.set(conversationId, [senderId, to]);
    return conversationId;
  }

  private requireMember(conversationId: string, partnerId: string): void {
    if (this.membership.isMember(conversationId, partnerId)) return;
    if (this.membership.exists(conversationId)) {
      throw new DuoError(
        'not_member',
        `You are not a member of "${conversationId}". Ask a member to create a group that includes you.`,
      );
    }
    if (directMembers(conversationId)?.includes(partnerId)) {
      throw new DuoError(
        'unknown_conversation',
        `The direct conversation "${conversationId}" does not exist yet; start it by sending with "to" set to the other partner.`,
      );
    }
    throw new DuoError(
      'unknown_conversation',
      `There is no conversation "${conversationId}". Call list_conversations to see yours.`,
    );
  }

  /** Pushes a committed message to every other member, online or not. */
  private publish(message: Message): void {
    this.hooks.committed?.(message);
    for (const recipient of this.membership.members(message.conversationId)) {
      if (recipient === message.from) continue;
      const session = this.sessions.get(recipient);
      if (session) session.deliver(message);
      this.wakeups.wake(recipient);
      if (!this.isOnline(recipient)) this.scheduleNotice(recipient);
    }
  }

  // ---------------------------------------------------------------- reading

  /**
   * Unread messages for `partnerId`, waiting up to `timeoutMs` for the first. Unless peeking,
   * they come with a claim (taken in the same tick as the read, so two listens never get the
   * same message) that the caller commits once they were delivered. A waiting listen that will
   * consume counts as presence; a peek only reads.
   */
  async waitForUnread(
    partnerId: string,
    options: {
      conversationId?: string | undefined;
      timeoutMs: number;
      limit: number;
      peek?: boolean;
      signal?: AbortSignal;
    },
  ): Promise<{ messages: Message[]; claim?: Claim }> {
    if (options.conversationId !== undefined) this.requireMember(options.conversationId, partnerId);
    const deadline = Date.now() + options.timeoutMs;
    const release = options.peek ? undefined : this.restPresence(partnerId);
    try {
      for (;;) {
        // Arm the wake-up before reading, so a message committed in between is not missed.
        const woken = this.wakeups.arm(partnerId, Math.max(0, deadline - Date.now()), options.signal);
        const messages = this.claims.unclaimed(
          partnerId,
          await this.unread(partnerId, 0, options.limit, options.conversationId),
        );
        if (messages.length > 0 || Date.now() >= deadline || options.signal?.aborted) {
          woken.cancel();
          if (options.peek || messages.length === 0) return { messages };
          return { messages, claim: this.claim(partnerId, messages) };
        }
        await woken.promise;
        if (options.signal?.aborted) return { messages: [] };
      }
    } finally {
      release?.();
    }
  }

  /** Counts a REST long-poll as presence until the returned function is called. */
  private restPresence(partnerId: string): () => void {
    const count = (this.restListeners.get(partnerId) ?? 0) + 1;
    this.restListeners.set(partnerId, count);
    if (count === 1 && !this.sessions.has(partnerId)) void this.announce(partnerId, true);
    return () => {
      const left = (this.restListeners.get(partnerId) ?? 1) - 1;
      if (left > 0) {
        this.restListeners.set(partnerId, left);
        return;
      }
      this.restListeners.delete(partnerId);
      if (this.sessions.has(partnerId)) return;
      void this.announce(partnerId, false);
      this.store.updatePartner(partnerId, { last_seen: this.nowIso() }).catch(() => {});
    };
  }

  private async unread(partnerId: string, afterId: number, limit: number, conversationId?: string): Promise<Message[]> {
    const rows = await this.store.unreadFor(partnerId, {
      afterId,
      limit,
      ...(conversationId === undefined ? {} : { conversationId }),
    });
    return rows.map(toMessage);
  }

  /**
   * Claims `messages` for one REST response: until the claim is committed (the response was
   * written: cursors move) or released (it was not: they stay unread), no other listen hands
   * them out.
   */
  private claim(partnerId: string, messages: Message[]): Claim {
    const { highest, release } = this.claims.take(partnerId, messages);
    // Other listens of this partner may be waiting for the claimed conversations to free up.
    const end = () => {
      release();
      this.wakeups.wake(partnerId);
    };
    return {
      commit: async () => {
        try {
          await Promise.all([...highest].map(([conversationId, upTo]) => this.ack(partnerId, conversationId, upTo)));
        } finally {
          end();
        }
      },
      release: end,
    };
  }

  /** Marks read up to `upTo` in one conversation (committed with the other writes of its tick). */
  async ack(partnerId: string, conversationId: string, upTo: number): Promise<void> {
    this.requireMember(conversationId, partnerId);
    if (await this.writes.submit({ kind: 'ack', partnerId, conversationId, upTo })) this.scheduleNotice(partnerId);
  }

  // ---------------------------------------------------------------- conversations

  async createGroup(creatorId: string, name: string, participants: string[]): Promise<ConversationSummary> {
    const members = [...new Set([creatorId, ...participants])];
    if (members.length < 2) throw new DuoError('bad_request', 'A group needs at least one participant besides you.');
    const known = new Set((await this.store.listPartners()).map((p) => p.id));
    const unknown = members.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new DuoError(
        'unknown_partner',
        `No partner is registered as ${unknown.map((id) => `"${id}"`).join(', ')}. Call list_partners to see who exists.`,
      );
    }
    const id = `group_${randomBytes(10).toString('hex')}`;
    const createdAt = this.nowIso();
    try {
      await this.store.transaction(async (tx) => {
        // New members start after the current newest message: nothing before they joined is unread.
        const cursor = await tx.maxMessageId();
        await tx.insertConversation(
          { id, kind: 'group', name, created_by: creatorId, created_at: createdAt },
          members,
          cursor,
        );
      });
    } catch (error) {
      throw storageError(error);
    }
    for (const member of members) this.membership.add(id, member);
    return { id, kind: 'group', name, members: members.sort(), unread: 0, lastMessageId: null, lastMessageAt: null };
  }

  /** Adds `partnerId` to an existing group; like a new member, it starts after the newest message. */
  async join(partnerId: string, conversationId: string): Promise<void> {
    if (this.membership.isMember(conversationId, partnerId)) return;
    if (!this.membership.exists(conversationId))
      throw new DuoError('unknown_conversation', `There is no conversation "${conversationId}".`);
    if (directMembers(conversationId))
      throw new DuoError('forbidden', `"${conversationId}" is a direct conversation; only groups can be joined.`);
    try {
      await this.store.addMember(conversationId, partnerId, await this.store.maxMessageId(), this.nowIso());
    } catch (error) {
      throw storageError(error);
    }
    this.membership.add(conversationId, partnerId);
  }

  async leave(partnerId: string, conversationId: string): Promise<void> {
    this.requireMember(conversationId, partnerId);
    if (directMembers(conversationId)) {
      throw new DuoError('bad_request', `"${conversationId}" is a direct conversation; only groups can be left.`);
    }
    await this.store.removeMember(conversationId, partnerId);
    this.membership.remove(conversationId, partnerId);
    this.scheduleNotice(partnerId);
  }

  async listConversations(partnerId: string): Promise<ConversationSummary[]> {
    const rows = await this.store.conversationsFor(partnerId);
    return rows.map((row) => ({ ...row, members: [...this.membership.members(row.id)].sort() }));
  }

  async history(
    partnerId: string,
    conversationId: string,
    options: { limit: number; before?: number | undefined },
  ): Promise<{ messages: Message[]; hasMore: boolean }> {
    this.requireMember(conversationId, partnerId);
    const { rows, hasMore } = await this.store.history(conversationId, {
      limit: options.limit,
      ...(options.before === undefined ? {} : { before: options.before }),
    });
    return { messages: rows.map(toMessage), hasMore };
  }

  // ---------------------------------------------------------------- partners and presence

  isOnline(partnerId: string): boolean {
    return this.sessions.has(partnerId) || this.restListeners.has(partnerId);
  }

  async listPartners(): Promise<PartnerSummary[]> {
    const rows = await this.store.listPartners();
    return rows.map((p) => ({
      id: p.id,
      name: p.name,
      online: this.isOnline(p.id),
      status: p.status,
      lastSeen: p.last_seen,
    }));
  }

  async setStatus(
    partnerId: string,
    status: string | null,
  ): Promise<{ partnerId: string; status: string | null; notifications: boolean }> {
    await this.store.updatePartner(partnerId, { status });
    const partner = (await this.store.getPartner(partnerId))!;
    this.broadcastPresence(partnerId, this.isOnline(partnerId), status);
    return { partnerId, status: partner.status, notifications: partner.notifications === 1 };
  }

  async setNotifications(
    partnerId: string,
    enabled: boolean,
  ): Promise<{ partnerId: string; status: string | null; notifications: boolean }> {
    await this.store.updatePartner(partnerId, { notifications: enabled ? 1 : 0 });
    const partner = (await this.store.getPartner(partnerId))!;
    this.scheduleNotice(partnerId, 0);
    return { partnerId, status: partner.status, notifications: enabled };
  }

  private async announce(partnerId: string, online: boolean): Promise<void> {
    const partner = await this.store.getPartner(partnerId).catch(() => undefined);
    this.broadcastPresence(partnerId, online, partner?.status ?? null);
  }

  /** Tells everyone who shares a conversation with `partnerId` that it came or went. */
  private broadcastPresence(partnerId: string, online: boolean, status: string | null): void {
    this.hooks.presence?.(partnerId, online, status);
    for (const contact of this.membership.contactsOf(partnerId)) {
      this.sessions.get(contact)?.send({ type: 'presence', partnerId, online, status });
    }
  }

  // ---------------------------------------------------------------- WebSocket sessions

  /** Opens a session after a valid hello: replaces any older one, then replays what is unread. */
  openSession(partner: PartnerRow, socket: SessionSocket, since: number): Session {
    const session = new Session(
      partner.id,
      socket,
      since,
      partner.pushed_up_to,
      (partnerId, afterId, limit) => this.unread(partnerId, afterId, limit),
      (error) => this.log.error({ err: error, partnerId: partner.id }, 'replay failed'),
    );
    const previous = this.sessions.attach(session);
    if (previous) session.inherit(previous);
    else if (!this.restListeners.has(partner.id)) this.broadcastPresence(partner.id, true, partner.status);
    return session;
  }

  /**
   * Forgets a closed session; records what was pushed so a later replay flags it redelivered.
   * Resolves once that is written (never rejects).
   */
  detachSession(session: Session): Promise<void> {
    // The socket is gone: a replay still running must stop sending into it.
    session.ended();
    if (!this.sessions.detach(session)) return Promise.resolve();
    const at = this.nowIso();
    const recorded = this.store
      .updatePartner(session.partnerId, { pushed_up_to: session.pushedUpTo, last_seen: at })
      .catch((error: unknown) => {
        this.log.warn({ err: error, partnerId: session.partnerId }, 'could not record session end');
      });
    if (!this.restListeners.has(session.partnerId)) void this.announce(session.partnerId, false);
    this.scheduleNotice(session.partnerId);
    return recorded;
  }

  // ---------------------------------------------------------------- offline notice

  private scheduleNotice(partnerId: string, delayMs = NOTICE_DELAY_MS): void {
    if (this.noticeTimers.has(partnerId)) return;
    const timer = setTimeout(() => {
      this.noticeTimers.delete(partnerId);
      this.refreshNotice(partnerId).catch((error: unknown) =>
        this.log.warn({ err: error, partnerId }, 'could not update the CLAUDE.md notice'),
      );
    }, delayMs);
    timer.unref();
    this.noticeTimers.set(partnerId, timer);
  }

  /**
   * The notice appears when messages arrive while the partner is offline with notifications on,
   * keeps its counts current, and goes away once they are read (or notifications are turned off).
   * Coming online alone does not remove it: the messages are still unread.
   */
  async refreshNotice(partnerId: string): Promise<void> {
    const partner = await this.store.getPartner(partnerId);
    if (!partner?.project_path) return;
    const counts = partner.notifications === 1 ? await this.store.unreadCounts(partnerId) : [];
    const written = await updateNotice(partner.project_path, counts, { create: !this.isOnline(partnerId) });
    if (!written)
      this.log.warn(
        { partnerId, path: partner.project_path },
        'skipped the CLAUDE.md notice: the path is not a plain directory with a regular CLAUDE.md',
      );
  }
}

function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

function idTaken(partnerId: string): DuoError {
  return new DuoError(
    'id_taken',
    `The partner id "${partnerId}" is already registered by another project (or you lost its secret). Present its secret as "Authorization: Bearer <secret>", or register under another id (set PARTNER_ID).`,
  );
}
