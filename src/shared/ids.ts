import { basename } from 'node:path';
import { crypto } from './lazy-builtins.ts';

/** Partner ids: lower-case slug, safe in URLs, file names and conversation ids. */
export const PARTNER_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Direct conversations are `direct:<a>:<b>` with the two ids sorted. A partner id can never
 * contain `:`, so two different pairs can never produce the same id (the older form
 * `direct_a_b`, from the long-polling system Duo replaced, collided as soon as an id contained `_`).
 */
export const DIRECT_ID_PATTERN = /^direct:[a-z0-9][a-z0-9_-]{0,63}:[a-z0-9][a-z0-9_-]{0,63}$/;
export const GROUP_ID_PATTERN = /^group_[a-z0-9]{6,40}$/;

export function isPartnerId(value: string): boolean {
  return PARTNER_ID_PATTERN.test(value);
}

export function isConversationId(value: string): boolean {
  return DIRECT_ID_PATTERN.test(value) || GROUP_ID_PATTERN.test(value);
}

/** Turns any folder or display name into a partner id, or '' when nothing usable is left. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return PARTNER_ID_PATTERN.test(slug) ? slug : '';
}

/** The partner id a project folder gets when PARTNER_ID is not set. */
export function partnerIdForFolder(folder: string): string {
  return slugify(basename(folder)) || 'partner';
}

/**
 * The fallback when another project already owns the folder's id: the slug plus a short hash of
 * the project's real path, so the same project always falls back to the same id.
 */
export function fallbackPartnerId(baseId: string, realPath: string): string {
  const hash = crypto().createHash('sha256').update(realPath).digest('hex').slice(0, 6);
  return `${baseId.slice(0, 57)}-${hash}`;
}

export function directConversationId(a: string, b: string): string {
  const [first, second] = a < b ? [a, b] : [b, a];
  return `direct:${first}:${second}`;
}

/** The two members of a direct conversation id (in either order), or undefined for a group id. */
export function directMembers(conversationId: string): [string, string] | undefined {
  if (!DIRECT_ID_PATTERN.test(conversationId)) return undefined;
  const [, a, b] = conversationId.split(':');
  return [a!, b!];
}

/** The member of a direct conversation who is not `me`, or undefined for a group id. */
export function otherMember(conversationId: string, me: string): string | undefined {
  const members = directMembers(conversationId);
  if (!members) return undefined;
  return members[0] === me ? members[1] : members[0];
}

/**
 * The one spelling of a conversation id: a direct id written the other way round
 * (`direct:bob:alice`) becomes `direct:alice:bob`; anything else is returned as it is.
 */
export function canonicalConversationId(conversationId: string): string {
  const members = directMembers(conversationId);
  return members ? directConversationId(members[0], members[1]) : conversationId;
}

/**
 * The older direct id form `direct_<a>_<b>` (still accepted everywhere an id is), read from the side of `me`: ids may contain `_`, so the
 * split is made where one side is `me`. Undefined when the value is not of that form or `me` is
 * neither side.
 */
export function seedDirectConversationId(value: string, me: string): string | undefined {
  const match = /^direct_(.+)$/.exec(value);
  if (!match) return undefined;
  const rest = match[1]!;
  const after = rest.startsWith(`${me}_`) ? rest.slice(me.length + 1) : undefined;
  if (after !== undefined && isPartnerId(after)) return directConversationId(me, after);
  const before = rest.endsWith(`_${me}`) ? rest.slice(0, -me.length - 1) : undefined;
  if (before !== undefined && isPartnerId(before)) return directConversationId(me, before);
  return undefined;
}
