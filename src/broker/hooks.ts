/**
 * Where the human's seat (the loop guard and the watch stream) hooks into the broker's
 * operations: one call each at a fixed point. Without hooks the broker behaves exactly as if the
 * seat did not exist.
 */
import type { Message } from '../shared/protocol.ts';

export interface ServiceHooks {
  /** Before a message is stored (after the duplicate check); throws to refuse it. */
  beforeTalk?(conversationId: string, senderId: string): void;
  /**
   * Every committed message, right after its commit, in id order unless `inOrder` is false (a
   * message of this broker committed while older ones of another broker were still on their way).
   */
  committed?(message: Message, inOrder: boolean): void;
  /** Whether the loop guard holds the conversation now (shown in conversation summaries). */
  held?(conversationId: string): boolean;
  /** Every presence or status change of any partner. */
  presence?(partnerId: string, online: boolean, status: string | null): void;
  /** A read cursor moved (committed, here or on another broker): `partnerId` has read `conversationId` up to `upTo`. */
  cursorMoved?(partnerId: string, conversationId: string, upTo: number): void;
  /** The store now records `partnerId`'s live sessions as pushed up to `upTo` (committed). */
  pushed?(partnerId: string, upTo: number): void;
}
