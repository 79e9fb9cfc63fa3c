/**
 * How tool results look to the model: compact lines, local times, and every piece of peer text
 * inside an envelope (message text) or escaped and quoted (names, statuses).
 */
import { otherMember } from '../shared/ids.ts';
import type { Message } from '../shared/protocol.ts';
import { formatMessage } from '../client/display.ts';

/** Messages grouped under a 📁 header per conversation, in id order within each. */
export function formatMessages(messages: readonly Message[]): string {
  const groups = new Map<string, Message[]>();
  for (const message of messages) {
    const group = groups.get(message.conversationId) ?? [];
    group.push(message);
    groups.set(message.conversationId, group);
  }
  return [...groups]
    .map(([conversationId, group]) => [`📁 ${conversationId}`, ...group.map((m) => formatMessage(m))].join('\n'))
    .join('\n\n');
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
    const other = otherMember(conversationId, me ?? '');
    return other ? `${group.length} from ${other} (${conversationId})` : `${group.length} in ${conversationId}`;
  });
  const shown = parts.slice(0, 5);
  if (parts.length > shown.length) shown.push(`${parts.length - shown.length} more conversations`);
  return `📬 ${messages.length}${saturated ? '+' : ''} unread: ${shown.join(', ')} — call listen`;
}
