/**
 * Who is in which conversation, kept in memory so that sending and fan-out never wait for a
 * query. Loaded from the store at start-up; every change is applied here only after the
 * transaction that made it has committed.
 */
import { DuoError } from '../shared/errors.ts';
import { directMembers } from '../shared/ids.ts';

export class Membership {
  private readonly byConversation = new Map<string, Set<string>>();
  private readonly byPartner = new Map<string, Set<string>>();

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
