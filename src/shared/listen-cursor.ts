/**
 * The `cursor` of a REST /listen response: what that response returned, so that a later listen
 * with `after=<cursor>` can mark exactly that read. It lists, per conversation, the highest
 * message id the response carried; the broker finds each id's conversation in the store. That
 * is enough to be exact: a response carries every unread message of a conversation up to the
 * highest one it carries (reads go in id order, and a conversation another listen holds is left
 * out whole), so marking read up to that id marks read nothing it did not return.
 *
 * It is not signed. A partner can only move its own read state, and only in conversations it
 * belongs to, so a forged cursor harms no one else; and an unsigned cursor needs no key that must
 * survive a restart for a cursor written just before a crash to stay valid.
 *
 * It lives in shared/ because a client may also write one: a hook that showed the model only some
 * of what a peek returned marks exactly those read with the cursor of that subset (per
 * conversation, the oldest unread messages up to the last one shown).
 *
 * Form: `v1` then, per id in ascending order, `.` and the distance from the previous id (the
 * first from 0) in base 36: `v1.15.3` names ids 41 and 44. `v1` alone names nothing.
 */
import { DuoError } from './errors.ts';
import { MAX_LISTEN_LIMIT } from './limits.ts';
import type { Message } from './protocol.ts';

const VERSION = 'v1';
const PART = /^[0-9a-z]{1,11}$/;

/** The cursor of a response that returned `messages`. */
export function encodeCursor(messages: readonly Message[]): string {
  const highest = new Map<string, number>();
  for (const m of messages) highest.set(m.conversationId, Math.max(highest.get(m.conversationId) ?? 0, m.id));
  const ids = [...highest.values()].sort((a, b) => a - b);
  let previous = 0;
  let cursor = VERSION;
  for (const id of ids) {
    cursor += `.${(id - previous).toString(36)}`;
    previous = id;
  }
  return cursor;
}

/** The message ids a cursor names; a cursor this broker could not have written is a 400. */
export function decodeCursor(cursor: string): number[] {
  const [version, ...parts] = cursor.split('.');
  if (version !== VERSION || parts.length > MAX_LISTEN_LIMIT || !parts.every((part) => PART.test(part))) {
    throw malformed();
  }
  const ids: number[] = [];
  let id = 0;
  for (const part of parts) {
    id += parseInt(part, 36);
    if (!Number.isSafeInteger(id)) throw malformed();
    ids.push(id);
  }
  return ids;
}

function malformed(): DuoError {
  return new DuoError(
    'bad_request',
    'That "after" is not a cursor of this broker. Pass the "cursor" of the previous /listen response unchanged, or leave "after" out.',
  );
}
