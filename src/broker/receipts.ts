/**
 * Delivery receipts: how far a stored message got for each recipient, worked out from what the
 * store keeps anyway, so a receipt costs no write on the path of a message:
 * - `seen`: the member's read cursor in the conversation reached the message. The cursor moves
 *   only when the text reached the model (a tool result, a hook's output, a written REST
 *   /listen response, a human's console), so this is the answer to "did bob see it?";
 * - `pushed`: the broker handed it to the member's live session. A session is pushed what is
 *   unread in id order, and the store records how far before each push goes out, so a partner
 *   recorded as pushed up to N was handed every message up to N it had not read;
 * - `stored`: neither (offline, paused, or a REST reader that has not fetched it yet).
 *
 * Recipients are the members when the receipts are read, except the sender and members who joined
 * after the message was stored. A member who left is no longer listed.
 */
import type { Receipt, Receipts } from '../shared/protocol.ts';

/** What the store knows of one member of a conversation, for its receipts. */
export interface MemberProgress {
  partnerId: string;
  /** Read cursor in the conversation. */
  cursor: number;
  /** The newest message id when it joined: it received only the messages above. */
  joinedAfter: number;
  /** Highest message id its live sessions were pushed, across conversations. */
  pushedUpTo: number;
}

/** The receipts of one message, by recipient id in the order of `members`. */
export function receiptsOf(message: { id: number; from: string }, members: readonly MemberProgress[]): Receipts {
  const receipts: Record<string, Receipt> = {};
  for (const member of members) {
    if (member.partnerId === message.from || member.joinedAfter >= message.id) continue;
    receipts[member.partnerId] =
      member.cursor >= message.id ? 'seen' : member.pushedUpTo >= message.id ? 'pushed' : 'stored';
  }
  return receipts;
}
