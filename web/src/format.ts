/** Small text helpers: times, names, counts, and the loop guard's budget in words. */
import { UNREAD_COUNT_CAP } from '../../src/shared/console-limits.ts';

/** An unread count; the broker stops counting at the cap. */
export function unreadText(n: number): string {
  return n >= UNREAD_COUNT_CAP ? `${UNREAD_COUNT_CAP}+` : String(n);
}

export function clock(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

export function budget(messages: number, windowSeconds: number): string {
  const window =
    windowSeconds % 3600 === 0
      ? `${windowSeconds / 3600} h`
      : windowSeconds % 60 === 0
        ? `${windowSeconds / 60} min`
        : `${windowSeconds} s`;
  return `${messages} message${messages === 1 ? '' : 's'} within ${window}`;
}

/** The two members of a direct conversation id, or undefined for a group. */
export function directPair(conversationId: string): [string, string] | undefined {
  const match = /^direct:([^:]+):([^:]+)$/.exec(conversationId);
  return match ? [match[1]!, match[2]!] : undefined;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
