/**
 * Messages a REST listen handed out whose read cursor is not written yet, per partner and
 * conversation (the highest id claimed). While a conversation is claimed, no other listen hands
 * out its messages; the claim ends when the cursor write finished or the response was never
 * delivered.
 */
import type { Message } from '../shared/protocol.ts';

export class Claims {
  private readonly byPartner = new Map<string, Map<string, number>>();

  /** Claims `messages`; returns the highest id per conversation and the function that releases them. */
  take(partnerId: string, messages: Message[]): { highest: Map<string, number>; release(): void } {
    const highest = new Map<string, number>();
    for (const m of messages) highest.set(m.conversationId, Math.max(highest.get(m.conversationId) ?? 0, m.id));
    let claimed = this.byPartner.get(partnerId);
    if (!claimed) this.byPartner.set(partnerId, (claimed = new Map()));
    for (const [conversationId, upTo] of highest)
      claimed.set(conversationId, Math.max(claimed.get(conversationId) ?? 0, upTo));
    const release = () => {
      for (const [conversationId, upTo] of highest)
        if (claimed.get(conversationId) === upTo) claimed.delete(conversationId);
      if (claimed.size === 0 && this.byPartner.get(partnerId) === claimed) this.byPartner.delete(partnerId);
    };
    return { highest, release };
  }

  /**
   * `messages` without any from a conversation another listen has a claim in. Newer messages of
   * that conversation wait too: committing them would move the cursor over the claimed ones,
   * which must stay unread if their response never arrives.
   */
  unclaimed(partnerId: string, messages: Message[]): Message[] {
    const claimed = this.byPartner.get(partnerId);
    if (!claimed) return messages;
    return messages.filter((m) => !claimed.has(m.conversationId));
  }
}
