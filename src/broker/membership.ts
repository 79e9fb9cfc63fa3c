/**
 * Who is in which conversation, kept in memory so that sending and fan-out never wait for a
 * query. Loaded from the store at start-up; every change is applied here only after the
 * transaction that made it has committed.
 *
 * When other brokers share the database (`shared`), they announce their changes, and a
 * conversation missing here is looked up in the store before anyone is refused: the
 * announcement may simply not have arrived yet.
 */
import { DuoError } from '../shared/errors.ts';
import { directMembers } from '../shared/ids.ts';
import type { Store } from './store.ts';

export class Membership {
  private readonly byConversation = new Map<string, Set<string>>();
  private readonly byPartner = new Map<string, Set<string>>();

  constructor(private readonly shared?: Store) {}

  load(rows: Iterable<{ conversation_id: string; partner_id: string }>): void {
    for (const row of rows) this.add(row.conversation_id, row.partner_id);
  }

  add(conversationId: string, partnerId: string): void {
    setOf(this.byConversation, conversationId).add(partnerId);
    setOf(this.byPartner, partnerId).add(conversationId);
  }

  remove(conversationId: string, partnerId: string): void {
    this.byConversation.get(conversationId)?.delete(partnerId);
    this.byPartner.get(partnerId)?.delete(conversationId);
  }

  /** Replaces what is known of one conversation (`undefined`: it does not exist). */
  set(conversationId: string, members: readonly string[] | undefined): void {
    for (const partnerId of this.byConversation.get(conversationId) ?? []) this.remove(conversationId, partnerId);
    this.byConversation.delete(conversationId);
    if (members === undefined) return;
    this.byConversation.set(conversationId, new Set());
    for (const partnerId of members) this.add(conversationId, partnerId);
  }

  /** Forgets everything and loads `rows` afresh. */
  reset(rows: Iterable<{ conversation_id: string; partner_id: string }>): void {
    this.byConversation.clear();
    this.byPartner.clear();
    this.load(rows);
  }

  /**
   * Reads one conversation's members from the store (through `via`, a transaction, when given),
   * when other brokers share it. True when the conversation exists.
   */
  async reload(conversationId: string, via: Store | undefined = this.shared): Promise<boolean> {
    if (!this.shared || !via) return false;
    const members = await via.membersOf(conversationId);
    this.set(conversationId, members);
    return members !== undefined;
  }

  /**
   * Like `requireMember`, first looking in the store (through `via`, a transaction, when given)
   * when other brokers may have changed it.
   */
  async require(conversationId: string, partnerId: string, via?: Store): Promise<void> {
    if (this.isMember(conversationId, partnerId)) return;
    await this.reload(conversationId, via);
    this.requireMember(conversationId, partnerId);
  }

  exists(conversationId: string): boolean {
    return this.byConversation.has(conversationId);
  }

  isMember(conversationId: string, partnerId: string): boolean {
    return this.byConversation.get(conversationId)?.has(partnerId) ?? false;
  }

  /**
   * Refuses a partner who is not in the conversation, saying whether it does not exist (a direct
   * conversation of theirs not started yet included) or exists without them.
   */
  requireMember(conversationId: string, partnerId: string): void {
    if (this.isMember(conversationId, partnerId)) return;
    if (this.exists(conversationId)) {
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

  members(conversationId: string): ReadonlySet<string> {
    return this.byConversation.get(conversationId) ?? EMPTY;
  }

  conversationsOf(partnerId: string): ReadonlySet<string> {
    return this.byPartner.get(partnerId) ?? EMPTY;
  }

  /** Everyone who shares at least one conversation with `partnerId`. */
  contactsOf(partnerId: string): Set<string> {
    const contacts = new Set<string>();
    for (const conversationId of this.conversationsOf(partnerId)) {
      for (const member of this.members(conversationId)) if (member !== partnerId) contacts.add(member);
    }
    return contacts;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}
