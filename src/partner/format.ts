/**
 * How tool results look to the model: compact lines, local times, and every piece of peer text
 * inside an envelope (message text) or escaped and quoted (names, statuses).
 */
import { envelope, escapeEnvelope } from '../shared/envelope.ts';
import { directMembers } from '../shared/ids.ts';
import type { Message } from '../shared/protocol.ts';

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

/** One message: `[HH:MM] sender:` then the enveloped text; `note` goes after the sender. */
export function formatMessage(message: Message, note = ''): string {
  const time = localTime(message.createdAt);
  return `[${time}] ${message.from}:${note ? ` ${note}` : ''}\n${envelope(message, time ? { time } : {})}`;
}

/**
 * Messages grouped under a 📁 header per conversation, in id order within each. Those for which
 * `seen` holds are marked as already shown, so a repeat is not mistaken for a new message.
 */
export function formatMessages(
  messages: readonly Message[],
  seen: (message: Message) => boolean = () => false,
): string {
  const groups = new Map<string, Message[]>();
  for (const message of messages) {
    const group = groups.get(message.conversationId) ?? [];
    group.push(message);
    groups.set(message.conversationId, group);
  }
  return [...groups]
    .map(([conversationId, group]) =>
      [
        `📁 ${conversationId}`,
        ...group.map((m) =>
          formatMessage(m, seen(m) ? '(shown to you before as a channel event; you replied since)' : ''),
        ),
      ].join('\n'),
    )
    .join('\n\n');
}

/** "bob" for a direct conversation of mine with bob, else the conversation id. */
export function conversationLabel(conversationId: string, me: string | undefined): string {
  const members = directMembers(conversationId);
  if (!members) return conversationId;
  const other = members[0] === me ? members[1] : members[0];
  return other;
}

/**
 * The unread footer: counts and ids only, never text. Example:
 * `📬 3 unread: 2 from bob (direct:alice:bob), 1 in group_x — call listen`
 */
export function unreadFooter(messages: readonly Message[], me: string | undefined, saturated = false): string {
  if (messages.length === 0) return saturated ? '📬 More messages are waiting on the broker — call listen' : '';
  const byConversation = new Map<string, Message[]>();
  for (const message of messages) {
    const group = byConversation.get(message.conversationId) ?? [];
    group.push(message);
    byConversation.set(message.conversationId, group);
  }
  const parts = [...byConversation].map(([conversationId, group]) => {
    if (directMembers(conversationId))
      return `${group.length} from ${conversationLabel(conversationId, me)} (${conversationId})`;
    return `${group.length} in ${conversationId}`;
  });
  const shown = parts.slice(0, 5);
  if (parts.length > shown.length) shown.push(`${parts.length - shown.length} more conversations`);
  return `📬 ${messages.length}${saturated ? '+' : ''} unread: ${shown.join(', ')} — call listen`;
}
