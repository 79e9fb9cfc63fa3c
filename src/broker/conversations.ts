/**
 * Conversations as a whole: creating a group, leaving one, listing a partner's conversations, and
 * reading history. Direct conversations are created by their first message (see writes.ts) and
 * cannot be left; history and everything else that names a conversation is for members only.
 */
import { randomBytes } from 'node:crypto';
import { DuoError } from '../shared/errors.ts';
import { directMembers } from '../shared/ids.ts';
import { MAX_GROUP_MEMBERS } from '../shared/limits.ts';
import type { ConversationSummary, HistoryReply } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
import { storageError } from './db.ts';
import type { Peers } from './cluster/peers.ts';
import type { ServiceHooks } from './hooks.ts';
import type { Membership } from './membership.ts';
import type { OfflineNotices } from './offline-notice.ts';
import type { Store } from './store.ts';

/** Random bytes in a group id: 80 bits, so ids never collide and cannot be guessed. */
const GROUP_ID_BYTES = 10;

export class Conversations {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly membership: Membership,
    private readonly notices: Pick<OfflineNotices, 'schedule'>,
    private readonly peers: Pick<Peers, 'inTransaction'>,
    private readonly hooks: Pick<ServiceHooks, 'held'> = {},
  ) {}

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
    const id = `group_${randomBytes(GROUP_ID_BYTES).toString('hex')}`;
    const createdAt = isoNow(this.clock);
    try {
      await this.store.transaction(async (tx) => {
        // New members start after the current newest message: nothing before they joined is unread.
        const cursor = await tx.maxMessageId();
        await tx.insertConversation(
          { id, kind: 'group', name, created_by: creatorId, created_at: createdAt },
          members,
          cursor,
        );
        await this.peers.inTransaction(tx, { t: 'mem', c: id });
      });
    } catch (error) {
      throw storageError(error);
    }
    for (const member of members) this.membership.add(id, member);
    return {
      id,
      kind: 'group',
      name,
      members: members.sort(),
      unread: 0,
      lastMessageId: null,
      lastMessageAt: null,
      held: false,
    };
  }

  /**
   * Adds `partnerId` to an existing group; like a new member, it starts after the newest message.
   * A full group is refused (counted in the transaction, so two joins at once cannot overfill it).
   */
  async join(partnerId: string, conversationId: string): Promise<void> {
    if (this.membership.isMember(conversationId, partnerId)) return;
    if (!this.membership.exists(conversationId) && !(await this.membership.reload(conversationId)))
      throw new DuoError('unknown_conversation', `There is no conversation "${conversationId}".`);
    if (directMembers(conversationId))
      throw new DuoError('forbidden', `"${conversationId}" is a direct conversation; only groups can be joined.`);
    try {
      await this.store.transaction(async (tx) => {
        if (((await tx.membersOf(conversationId)) ?? []).length >= MAX_GROUP_MEMBERS) {
          throw new DuoError(
            'forbidden',
            `"${conversationId}" is full: a group has at most ${MAX_GROUP_MEMBERS} members. Ask a member to leave, or start a new group.`,
          );
        }
        await tx.addMember(conversationId, partnerId, await tx.maxMessageId(), isoNow(this.clock));
        await this.peers.inTransaction(tx, { t: 'mem', c: conversationId });
      });
    } catch (error) {
      throw storageError(error);
    }
    this.membership.add(conversationId, partnerId);
  }

  async leave(partnerId: string, conversationId: string): Promise<void> {
    await this.membership.require(conversationId, partnerId);
    if (directMembers(conversationId)) {
      throw new DuoError('bad_request', `"${conversationId}" is a direct conversation; only groups can be left.`);
    }
    await this.store.transaction(async (tx) => {
      await tx.removeMember(conversationId, partnerId);
      await this.peers.inTransaction(tx, { t: 'mem', c: conversationId });
    });
    this.membership.remove(conversationId, partnerId);
    // Its unread messages there no longer count.
    this.notices.schedule(partnerId);
  }

  async list(partnerId: string): Promise<ConversationSummary[]> {
    const rows = await this.store.conversationsFor(partnerId);
    return rows.map((row) => ({
      ...row,
      members: [...this.membership.members(row.id)].sort(),
      held: this.hooks.held?.(row.id) ?? false,
    }));
  }

  /** The newest `limit` messages before `before`, oldest first, with their receipts (members only). */
  async history(
    partnerId: string,
    conversationId: string,
    options: { limit: number; before?: number | undefined },
  ): Promise<HistoryReply> {
    await this.membership.require(conversationId, partnerId);
    return this.store.history(conversationId, options);
  }
}
