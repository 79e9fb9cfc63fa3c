/**
 * How messages look in a terminal. Peer text is untrusted here too: control, bidi and zero-width
 * characters are removed so a message cannot move the cursor, recolour or rewrite the screen.
 */
import { stripUnsafe } from '../shared/envelope.ts';
import { directMembers, otherMember } from '../shared/ids.ts';
import type { ConversationSummary, Message } from '../shared/protocol.ts';
import { localTime } from '../client/display.ts';

/** Peer-chosen text on one line (names, statuses, group names). */
export function oneLine(text: string): string {
  return stripUnsafe(text).replace(/\s*\n\s*/g, ' ');
}

/** "bob" for a direct conversation of `me`, `Backend Team (group_x)` for a known group, else the id. */
export function conversationName(
  conversationId: string,
  me: string,
  known?: ReadonlyMap<string, ConversationSummary>,
): string {
  const members = directMembers(conversationId);
  if (members) return members.includes(me) ? otherMember(conversationId, me)! : members.join(' & ');
  const group = known?.get(conversationId);
  return group ? `${oneLine(group.name)} (${conversationId})` : conversationId;
}

/**
 * `10:31  #42  bob → alice  text`, continuation lines indented under the text. In a direct
 * conversation the arrow names the other member; in a group it names the group.
 */
export function formatLine(message: Message, me: string, known?: ReadonlyMap<string, ConversationSummary>): string {
  const target =
    otherMember(message.conversationId, message.from) ?? conversationName(message.conversationId, me, known);
  const head = `${localTime(message.createdAt).padEnd(5)}  #${message.id}  ${message.from} → ${target}  `;
  const [first = '', ...rest] = stripUnsafe(message.content).split('\n');
  const indent = ' '.repeat(Math.min(head.length, 24));
  return [head + first, ...rest.map((line) => indent + line)].join('\n');
}
