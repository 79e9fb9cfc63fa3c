/**
 * The human's seat on the wire: the web console's REST API, the owner's routes (login codes,
 * holds, resume) and the read-only watch stream. Same rules as protocol.ts: strict objects,
 * nothing coerced, one schema per body, reply and frame.
 */
import * as z from 'zod';
import { DisplayName, MessageId, MessageFrame, PartnerId, PresenceFrame } from './protocol.ts';

const digits = (what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${what} must be a whole number`)
    .transform(Number);

// ---------------------------------------------------------------- loop guard

export const Hold = z.strictObject({
  conversationId: z.string(),
  heldAt: z.string(),
  /** The budget that was used up: this many turns of the same agents within `windowSeconds`. */
  messages: z.int(),
  windowSeconds: z.int(),
});
export type Hold = z.infer<typeof Hold>;

export const HoldsReply = z.strictObject({ holds: z.array(Hold) });
export const ResumeReply = z.strictObject({
  conversationId: z.string(),
  /** False when the conversation was not on hold (resuming is harmless then). */
  resumed: z.boolean(),
});
export type ResumeReply = z.infer<typeof ResumeReply>;

export const LoopGuardSetting = z.strictObject({ limit: z.int(), windowSeconds: z.int() }).nullable();
export type LoopGuardSetting = z.infer<typeof LoopGuardSetting>;

// ---------------------------------------------------------------- logging in

/** Asks for a one-time login code (owner token): the human identity the console acts as. */
export const LoginCodeBody = z.strictObject({ partnerId: PartnerId, name: DisplayName.optional() });
export const LoginCodeReply = z.strictObject({
  partnerId: z.string(),
  name: z.string(),
  code: z.string(),
  /** The page that trades the code for a session, on the broker's own origin. */
  path: z.string(),
  expiresAt: z.string(),
});
export type LoginCodeReply = z.infer<typeof LoginCodeReply>;

export const SessionBody = z.strictObject({ code: z.string().min(1).max(200) });
/** `pageKey` is the page's half of the session: kept in sessionStorage, sent as X-Duo-Session. */
export const SessionReply = z.strictObject({
  partnerId: z.string(),
  name: z.string(),
  expiresAt: z.string(),
  pageKey: z.string(),
});
export type SessionReply = z.infer<typeof SessionReply>;

export const ConsoleMe = z.strictObject({
  partnerId: z.string(),
  name: z.string(),
  loopGuard: LoopGuardSetting,
  version: z.string(),
});
export type ConsoleMe = z.infer<typeof ConsoleMe>;

// ---------------------------------------------------------------- lists and pages

export const PageQuery = z.strictObject({
  limit: digits('limit').optional(),
  /** The `next` of the previous page. */
  after: z.string().max(200).optional(),
});

export const ConsoleMember = z.strictObject({ id: z.string(), unread: z.int() });

export const ConsoleConversation = z.strictObject({
  id: z.string(),
  kind: z.enum(['direct', 'group']),
  name: z.string(),
  /** Every member with how many messages wait unread for it (up to UNREAD_COUNT_CAP). */
  members: z.array(ConsoleMember),
  /** The human's own unread count, or null when the human is not a member. */
  unread: z.int().nullable(),
  lastMessageId: z.int().nullable(),
  lastMessageAt: z.string().nullable(),
  /** The newest message, its text cut short. */
  preview: z.strictObject({ from: z.string(), content: z.string() }).nullable(),
  hold: Hold.nullable(),
});
export type ConsoleConversation = z.infer<typeof ConsoleConversation>;

export const ConsoleConversationsReply = z.strictObject({
  conversations: z.array(ConsoleConversation),
  /** Pass as `after` for the next page; null on the last one. */
  next: z.string().nullable(),
  total: z.int(),
});
export type ConsoleConversationsReply = z.infer<typeof ConsoleConversationsReply>;
export const ConsoleConversationReply = z.strictObject({ conversation: ConsoleConversation });

export const ConsolePartner = z.strictObject({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['agent', 'human']),
  online: z.boolean(),
  status: z.string().nullable(),
  lastSeen: z.string().nullable(),
});
export type ConsolePartner = z.infer<typeof ConsolePartner>;
export const ConsolePartnersReply = z.strictObject({ partners: z.array(ConsolePartner), next: z.string().nullable() });
export type ConsolePartnersReply = z.infer<typeof ConsolePartnersReply>;

/** Marks the human's own messages read up to `upTo` in one conversation. */
export const ReadBody = z.strictObject({ upTo: MessageId });

// ---------------------------------------------------------------- the watch stream

/** First frame of /watch: where the stream starts, and the loop guard's setting. */
export const WatchingFrame = z.strictObject({
  type: z.literal('watching'),
  /** The newest committed message id when the stream started. */
  upTo: MessageId,
  /**
   * Messages above this id follow as a replay, then live ones. Above the `since` asked for
   * when more were missed than a replay carries; `duo history` shows those.
   */
  replayFrom: MessageId,
  heartbeatMs: z.int(),
  loopGuard: LoopGuardSetting,
});
export const HeldFrame = z.strictObject({ type: z.literal('held'), hold: Hold });
export const ReleasedFrame = z.strictObject({
  type: z.literal('released'),
  conversationId: z.string(),
  /** `resume`: someone resumed it; `human_message`: a human wrote in it. */
  by: z.enum(['resume', 'human_message']),
});

/** A member's read cursor moved: it has seen `conversationId` up to `upTo` (a receipt turns `seen`). */
export const ReadFrame = z.strictObject({
  type: z.literal('read'),
  conversationId: z.string(),
  partnerId: z.string(),
  upTo: MessageId,
});
/**
 * A partner's live session was handed what it had not read up to `upTo`, in every conversation
 * (a receipt turns `pushed`). May come before the message frames it covers.
 */
export const PushedFrame = z.strictObject({ type: z.literal('pushed'), partnerId: z.string(), upTo: MessageId });

export const WatchFrame = z.discriminatedUnion('type', [
  WatchingFrame,
  MessageFrame,
  PresenceFrame,
  HeldFrame,
  ReleasedFrame,
  ReadFrame,
  PushedFrame,
]);
export type WatchFrame = z.infer<typeof WatchFrame>;
export type HeldFrame = z.infer<typeof HeldFrame>;
export type ReleasedFrame = z.infer<typeof ReleasedFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;
export type PushedFrame = z.infer<typeof PushedFrame>;
export type WatchingFrame = z.infer<typeof WatchingFrame>;

export const WatchQuery = z.strictObject({ since: digits('since').optional() });
