/**
 * The wire protocol, written once: REST bodies and replies, WebSocket frames. Broker, partner,
 * CLI and tests import these schemas and infer their types from them. Objects are strict
 * (unknown fields are rejected) and nothing is coerced.
 */
import * as z from 'zod';
import { canonicalConversationId, DIRECT_ID_PATTERN, GROUP_ID_PATTERN, PARTNER_ID_PATTERN } from './ids.ts';
import {
  formatBytes,
  MAX_CLIENT_LABEL_LENGTH,
  MAX_CLIENT_MSG_ID_LENGTH,
  MAX_CONTENT_BYTES,
  MAX_CONVERSATION_ID_LENGTH,
  MAX_GROUP_SIZE,
  MAX_NAME_LENGTH,
  MAX_PROJECT_PATH_LENGTH,
  MAX_REF_LENGTH,
  MAX_SECRET_LENGTH,
  MAX_STATUS_LENGTH,
} from './limits.ts';

// Their home is limits.ts; re-exported for code that has always found them here.
export { MAX_CONTENT_BYTES, MAX_GROUP_SIZE, MAX_NAME_LENGTH, MAX_STATUS_LENGTH };

export const PartnerId = z
  .string()
  .regex(
    PARTNER_ID_PATTERN,
    'a partner id is 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter or digit',
  );

export const ConversationId = z
  .string()
  .max(MAX_CONVERSATION_ID_LENGTH)
  .refine((id) => DIRECT_ID_PATTERN.test(id) || GROUP_ID_PATTERN.test(id), {
    message: 'a conversation id looks like "direct:alice:bob" or "group_…"',
  })
  // Both orders of a direct id name the same conversation.
  .transform(canonicalConversationId);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const Content = z
  .string()
  .min(1, 'a message cannot be empty')
  .refine((text) => Buffer.byteLength(text, 'utf8') <= MAX_CONTENT_BYTES, {
    message: `a message is at most ${formatBytes(MAX_CONTENT_BYTES)} (${MAX_CONTENT_BYTES} bytes of UTF-8); split it or send a file path instead`,
  })
  // A lone surrogate has no UTF-8 form: stored, it would silently become U+FFFD.
  .refine((text) => !LONE_SURROGATE.test(text), {
    message: 'a message must be valid Unicode text (it contains a lone surrogate)',
  });

export const ClientMsgId = z.string().min(1).max(MAX_CLIENT_MSG_ID_LENGTH);
export const DisplayName = z.string().trim().min(1).max(MAX_NAME_LENGTH);
export const MessageId = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const Message = z.strictObject({
  id: MessageId,
  conversationId: z.string(),
  from: z.string(),
  content: z.string(),
  createdAt: z.string(),
  redelivered: z.literal(true).optional(),
});
export type Message = z.infer<typeof Message>;

export const ErrorReply = z.strictObject({ error: z.string(), code: z.string() });
export type ErrorReply = z.infer<typeof ErrorReply>;

// ---------------------------------------------------------------- REST bodies and replies

export const RegisterBody = z.strictObject({
  partnerId: PartnerId,
  name: DisplayName.optional(),
  /** Absolute path of the project folder; the only place an offline notice is ever written. */
  projectPath: z
    .string()
    .min(1)
    .max(MAX_PROJECT_PATH_LENGTH)
    .startsWith('/', 'projectPath must be an absolute path')
    .optional(),
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const RegisterReply = z.strictObject({
  partnerId: z.string(),
  name: z.string(),
  created: z.boolean(),
  /** Only in the reply to the first registration of an id. Shown once; the broker keeps a hash. */
  secret: z.string().optional(),
});
export type RegisterReply = z.infer<typeof RegisterReply>;

/** Bodies of POSTs that take no input; a missing body is fine too. */
export const EmptyBody = z.strictObject({});

export const UnregisterBody = z.strictObject({ partnerId: PartnerId.optional() });

/** A message goes to a partner (`to`) or into a conversation (`conversationId`), never both. */
export function oneTarget(talk: { to?: string | undefined; conversationId?: string | undefined }): boolean {
  return (talk.to === undefined) !== (talk.conversationId === undefined);
}
const ONE_TARGET = { message: 'give exactly one of "to" (a partner id) or "conversationId"' };

export const TalkBody = z
  .strictObject({
    content: Content,
    to: PartnerId.optional(),
    conversationId: ConversationId.optional(),
    clientMsgId: ClientMsgId.optional(),
  })
  .refine(oneTarget, ONE_TARGET);
export type TalkBody = z.infer<typeof TalkBody>;

export const TalkReply = z.strictObject({
  messageId: MessageId,
  conversationId: z.string(),
  createdAt: z.string(),
  duplicate: z.boolean(),
});
export type TalkReply = z.infer<typeof TalkReply>;

const digits = (what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${what} must be a whole number`)
    .transform(Number);
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

export const ListenQuery = z.strictObject({
  timeout: digits('timeout').optional(),
  conversationId: ConversationId.optional(),
  peek: flag.optional(),
  limit: digits('limit').optional(),
  /** The `cursor` of an earlier response: what it returned is marked read before this listen reads. */
  after: z.string().optional(),
  /**
   * Only messages with a higher id (with `peek` only): a waiter skips what it chose not to act
   * on, such as a held conversation, without being answered at once with it again and again.
   */
  above: z
    .string()
    .regex(/^\d{1,15}$/, 'above must be a message id (a whole number)')
    .transform(Number)
    .optional(),
});
export const ListenReply = z.strictObject({
  messages: z.array(Message),
  /** Opaque: what this response returned. Echo it as `after` on the next listen for exactly-once reads. */
  cursor: z.string(),
});
export type ListenReply = z.infer<typeof ListenReply>;

export const CreateConversationBody = z.strictObject({
  name: DisplayName,
  participants: z.array(PartnerId).min(1, 'name at least one other participant').max(MAX_GROUP_SIZE),
});
export type CreateConversationBody = z.infer<typeof CreateConversationBody>;

export const ConversationSummary = z.strictObject({
  id: z.string(),
  kind: z.enum(['direct', 'group']),
  name: z.string(),
  members: z.array(z.string()),
  unread: z.int(),
  lastMessageId: z.int().nullable(),
  lastMessageAt: z.string().nullable(),
  /**
   * The loop guard holds it: agent messages into it are refused until a human resumes it.
   * (Absent from brokers older than the field: read as not held.)
   */
  held: z.boolean().default(false),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

export const ConversationReply = z.strictObject({ conversation: ConversationSummary });
export const ConversationsReply = z.strictObject({ conversations: z.array(ConversationSummary) });
export const LeaveReply = z.strictObject({ left: z.literal(true), conversationId: z.string() });
export type ConversationReply = z.infer<typeof ConversationReply>;
export type ConversationsReply = z.infer<typeof ConversationsReply>;

export const HistoryQuery = z.strictObject({
  limit: digits('limit').optional(),
  before: digits('before').optional(),
});

/**
 * How far a message got for one recipient: `stored` (committed), `pushed` (handed to the
 * recipient's live session), `seen` (its read cursor reached it: the text reached its model).
 */
export const Receipt = z.enum(['stored', 'pushed', 'seen']);
export type Receipt = z.infer<typeof Receipt>;
/**
 * A message's receipts by recipient id: the conversation's members when it is read, except the
 * sender and those who joined after the message was stored.
 */
export const Receipts = z.record(z.string(), Receipt);
export type Receipts = z.infer<typeof Receipts>;
/**
 * A message as history shows it: with its receipts (none from brokers older than them).
 * Everywhere else a Message has none.
 */
export const HistoryMessage = Message.extend({ receipts: Receipts.default({}) });
export type HistoryMessage = z.infer<typeof HistoryMessage>;

export const HistoryReply = z.strictObject({ messages: z.array(HistoryMessage), hasMore: z.boolean() });
export type HistoryReply = z.infer<typeof HistoryReply>;

export const PartnerSummary = z.strictObject({
  id: z.string(),
  name: z.string(),
  online: z.boolean(),
  status: z.string().nullable(),
  lastSeen: z.string().nullable(),
});
export type PartnerSummary = z.infer<typeof PartnerSummary>;
export const PartnersReply = z.strictObject({ partners: z.array(PartnerSummary) });
export type PartnersReply = z.infer<typeof PartnersReply>;

export const StatusBody = z.strictObject({ status: z.string().trim().max(MAX_STATUS_LENGTH).nullable().optional() });
export const NotificationsBody = z.strictObject({ enabled: z.boolean() });
export const SettingsReply = z.strictObject({
  partnerId: z.string(),
  status: z.string().nullable(),
  notifications: z.boolean(),
});

export const HealthReply = z.strictObject({ ok: z.literal(true), version: z.string(), uptimeSeconds: z.number() });

// ---------------------------------------------------------------- WebSocket frames

export const HelloFrame = z.strictObject({
  type: z.literal('hello'),
  partnerId: PartnerId,
  secret: z.string().min(1).max(MAX_SECRET_LENGTH),
  /** Highest message id this client already holds; the broker replays only what is newer. */
  since: MessageId.default(0),
  client: z.string().max(MAX_CLIENT_LABEL_LENGTH).optional(),
});

/** Any frame after hello may carry a `ref`; the reply or error frame echoes it. */
const Ref = z.string().max(MAX_REF_LENGTH).optional();

export const TalkFrame = z
  .strictObject({
    type: z.literal('talk'),
    ref: Ref,
    content: Content,
    to: PartnerId.optional(),
    conversationId: ConversationId.optional(),
    clientMsgId: ClientMsgId.optional(),
  })
  .refine(oneTarget, ONE_TARGET);

export const AckFrame = z.strictObject({
  type: z.literal('ack'),
  ref: Ref,
  conversationId: ConversationId,
  upTo: MessageId,
});

/** Flow control: the client's inbox is full; keep messages in the store until `resume`. */
export const PauseFrame = z.strictObject({ type: z.literal('pause'), ref: Ref });
/** The inbox drained; send what is unread and newer than `since` (the highest id still held). */
export const ResumeFrame = z.strictObject({ type: z.literal('resume'), ref: Ref, since: MessageId });

export const ClientFrame = z.discriminatedUnion('type', [HelloFrame, TalkFrame, AckFrame, PauseFrame, ResumeFrame]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type HelloFrame = z.infer<typeof HelloFrame>;
export type TalkFrame = z.infer<typeof TalkFrame>;

export const WelcomeFrame = z.strictObject({
  type: z.literal('welcome'),
  partnerId: z.string(),
  name: z.string(),
  version: z.string(),
  heartbeatMs: z.int(),
});
export const MessageFrame = z.strictObject({ type: z.literal('message'), message: Message });
export const SentFrame = z.strictObject({
  type: z.literal('sent'),
  ref: z.string().optional(),
  messageId: MessageId,
  conversationId: z.string(),
  createdAt: z.string(),
  duplicate: z.boolean(),
});
export const PresenceFrame = z.strictObject({
  type: z.literal('presence'),
  partnerId: z.string(),
  online: z.boolean(),
  status: z.string().nullable(),
});
/**
 * Confirms a `resume`: every message frame after this one starts above `since`. A client that
 * dropped messages discards frames until it sees this, so nothing is accepted past a gap.
 */
export const ResumedFrame = z.strictObject({
  type: z.literal('resumed'),
  ref: z.string().optional(),
  since: MessageId,
});
/**
 * The partner's read cursor in a conversation moved to `upTo` (by any client acting as it: a
 * hook, a REST listen, this socket's own ack): those messages reached the model, so a client
 * holding them can drop them.
 */
export const ReadFrame = z.strictObject({
  type: z.literal('read'),
  conversationId: z.string(),
  upTo: MessageId,
});
export const ErrorFrame = z.strictObject({
  type: z.literal('error'),
  ref: z.string().optional(),
  code: z.string(),
  error: z.string(),
});

export const ServerFrame = z.discriminatedUnion('type', [
  WelcomeFrame,
  MessageFrame,
  SentFrame,
  PresenceFrame,
  ResumedFrame,
  ReadFrame,
  ErrorFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;
export type SentFrame = z.infer<typeof SentFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type PresenceFrame = z.infer<typeof PresenceFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;

/** WebSocket close codes the broker uses, documented in docs/protocol.md. */
export const CloseCode = {
  /** A newer session of the same partner id took over; the old one must not reconnect. */
  replaced: 4001,
  /** The first frame was not a valid hello, or the hello carried a wrong secret. */
  unauthorized: 4003,
  /** No hello arrived within the deadline. */
  helloTimeout: 4008,
  /** The partner was unregistered. */
  unregistered: 4010,
  /** A console watcher's session was ended (logout); the page has to log in again. */
  sessionEnded: 4011,
  /** The socket sent too many frames too fast. */
  rateLimited: 4029,
  /** Binary frames are not part of the protocol. */
  unsupportedData: 1003,
  /** The broker is shutting down; reconnect later. */
  goingAway: 1001,
  /** The hello could not be processed right now (storage busy); reconnect later. */
  tryAgainLater: 1013,
  /** A text frame that is not valid UTF-8 (sent by the WebSocket library itself). */
  invalidPayload: 1007,
  /** A frame larger than the frame limit (sent by the WebSocket library itself). */
  messageTooBig: 1009,
} as const;

/** Explains a zod failure in one sentence: which field and what is wrong with it. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const where = issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'the input';
      if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}
