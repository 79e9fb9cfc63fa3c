/**
 * The broker's replies the hooks read, checked by hand against the same shapes as the zod
 * schemas in shared/protocol.ts (a test holds the two equal): a hook loads no zod, which would
 * cost it more than all of its own work. Anything else fails as a reply this version does not
 * understand.
 */
import type { ConversationSummary, ListenReply, Message } from '../../shared/protocol.ts';

type Fields = Record<string, unknown>;

/** `value` as an object with exactly `required` (and possibly `optional`) keys, or undefined. */
function exactly(value: unknown, required: readonly string[], optional: readonly string[] = []): Fields | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const known = (key: string) => required.includes(key) || optional.includes(key);
  return required.every((key) => Object.hasOwn(value, key)) && keys.every(known) ? (value as Fields) : undefined;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const isId = (value: unknown): value is number => isInt(value) && value >= 0;

function arrayOf<T>(value: unknown, check: (item: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items: T[] = [];
  for (const item of value) {
    const checked = check(item);
    if (checked === undefined) return undefined;
    items.push(checked);
  }
  return items;
}

export function messageOf(value: unknown): Message | undefined {
  const m = exactly(value, ['id', 'conversationId', 'from', 'content', 'createdAt'], ['redelivered']);
  if (!m || !isId(m.id) || !isString(m.conversationId) || !isString(m.from) || !isString(m.content)) return undefined;
  if (!isString(m.createdAt) || (m.redelivered !== undefined && m.redelivered !== true)) return undefined;
  return m as Message;
}

export function listenReplyOf(value: unknown): ListenReply | undefined {
  const reply = exactly(value, ['messages', 'cursor']);
  const messages = reply && arrayOf(reply.messages, messageOf);
  return reply && messages && isString(reply.cursor) ? { messages, cursor: reply.cursor } : undefined;
}

export function conversationSummaryOf(value: unknown): ConversationSummary | undefined {
  const c = exactly(value, ['id', 'kind', 'name', 'members', 'unread', 'lastMessageId', 'lastMessageAt'], ['held']);
  if (!c || !isString(c.id) || (c.kind !== 'direct' && c.kind !== 'group') || !isString(c.name)) return undefined;
  const members = arrayOf(c.members, (member) => (isString(member) ? member : undefined));
  if (!members || !isInt(c.unread)) return undefined;
  if (c.lastMessageId !== null && !isInt(c.lastMessageId)) return undefined;
  if (c.lastMessageAt !== null && !isString(c.lastMessageAt)) return undefined;
  if (c.held !== undefined && typeof c.held !== 'boolean') return undefined;
  // Absent from brokers older than the field: not held.
  return { ...(c as ConversationSummary), members, held: c.held ?? false };
}

export function conversationsReplyOf(value: unknown): { conversations: ConversationSummary[] } | undefined {
  const reply = exactly(value, ['conversations']);
  const conversations = reply && arrayOf(reply.conversations, conversationSummaryOf);
  return conversations ? { conversations } : undefined;
}
