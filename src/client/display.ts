/**
 * Small pieces of how Duo shows things to a person or a model, shared by the partner's tool
 * results and the `duo` commands: local times, peer-chosen text outside an envelope, the name
 * of a conversation from one member's side, and a message's delivery receipts.
 */
import { envelope, escapeEnvelope } from '../shared/envelope.ts';
import { otherMember } from '../shared/ids.ts';
import type { Message, Receipt, Receipts } from '../shared/protocol.ts';

const pad = (n: number) => String(n).padStart(2, '0');

/** `HH:MM` in local time for today, `YYYY-MM-DD HH:MM` otherwise; '' for an unreadable time. */
export function localTime(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  const sameDay =
    date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() && date.getDate() === now.getDate();
  return sameDay ? hm : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${hm}`;
}

/** Peer-chosen text shown outside an envelope (names, statuses): escaped and quoted. */
export function quoted(text: string): string {
  return `"${escapeEnvelope(text).replace(/\n/g, ' ').replace(/"/g, '&quot;')}"`;
}

/** The other member's id for a direct conversation of `me`, else the conversation id. */
export function conversationLabel(conversationId: string, me: string): string {
  return otherMember(conversationId, me) ?? conversationId;
}

/** How each receipt reads, furthest first. */
const RECEIPT_WORDS: ReadonlyArray<[Receipt, string]> = [
  ['seen', '✓✓ seen by'],
  ['pushed', '✓ pushed to'],
  ['stored', '○ stored for'],
];
/** Recipients named per receipt; a big group's others are counted. */
const RECEIPT_NAMES = 5;

/**
 * A message's receipts on one line, furthest first: `✓✓ seen by bob · ✓ pushed to carol · ○
 * stored for dave` ('' without recipients). Partner ids are slugs: nothing to escape.
 */
export function receiptLine(receipts: Receipts): string {
  return RECEIPT_WORDS.flatMap(([state, words]) => {
    const who = Object.keys(receipts).filter((id) => receipts[id] === state);
    if (who.length === 0) return [];
    const more = who.length > RECEIPT_NAMES ? ` +${who.length - RECEIPT_NAMES}` : '';
    return [`${words} ${who.slice(0, RECEIPT_NAMES).join(', ')}${more}`];
  }).join(' · ');
}

/**
 * One message as a model sees it (tool results, hook output): `[HH:MM] sender:` then the
 * enveloped text; `note` goes after the sender.
 */
export function formatMessage(message: Message, note = ''): string {
  const time = localTime(message.createdAt);
  return `[${time}] ${message.from}:${note ? ` ${note}` : ''}\n${envelope(message, time ? { time } : {})}`;
}
