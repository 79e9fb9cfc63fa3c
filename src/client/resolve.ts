/**
 * Turns what a model or a person types into ids the broker knows. Where a conversation is
 * expected: direct ids in either order, the older `direct_alice_bob` form of the long-polling
 * Claude Duo this project replaces, or a partner id (the direct conversation with them). Where a
 * partner is expected: an id, a display name, or an unslugged form of either.
 */
import { DuoError } from '../shared/errors.ts';
import {
  canonicalConversationId,
  directConversationId,
  isConversationId,
  seedDirectConversationId,
  isPartnerId,
  slugify,
} from '../shared/ids.ts';
import type { PartnerSummary } from '../shared/protocol.ts';

/**
 * A conversation reference → conversation id. Accepts `direct:a:b` (either order), `group_…`, the
 * older `direct_<a>_<b>` (split where one side is me), and a bare partner id for the direct thread.
 */
export function resolveConversation(input: string, me: string): string {
  const value = input.trim();
  if (isConversationId(value)) return canonicalConversationId(value);
  const seed = seedDirectConversationId(value, me);
  if (seed) return seed;
  if (isPartnerId(value)) return directConversationId(me, value);
  const example = directConversationId(me, me === 'bob' ? 'alice' : 'bob');
  throw new DuoError(
    'bad_request',
    `"${value}" is not a conversation id. Use an id from list_conversations, such as "${example}" or "group_…", or a partner id for your direct conversation with them.`,
  );
}

/**
 * A partner reference → partner id. An exact id wins; otherwise a case-insensitive match of the
 * display name or of the slug of what was typed, among the partners the broker lists.
 */
export async function resolvePartner(
  input: string,
  listPartners: () => Promise<readonly PartnerSummary[]>,
): Promise<string> {
  const value = input.trim();
  if (isPartnerId(value)) return value;
  const partners = await listPartners();
  const lower = value.toLowerCase();
  const slug = slugify(value);
  const byName = partners.filter((partner) => partner.name.toLowerCase() === lower);
  if (byName.length === 1) return byName[0]!.id;
  if (byName.length > 1) {
    throw new DuoError(
      'bad_request',
      `Several partners are named "${value}" (${byName.map((p) => p.id).join(', ')}); use one of these ids.`,
    );
  }
  const bySlug = partners.find(
    (partner) => partner.id === slug || partner.id === value.replace(/\s+/g, '_').toLowerCase(),
  );
  if (bySlug) return bySlug.id;
  throw new DuoError(
    'unknown_partner',
    `No partner is called "${value}". Call list_partners to see the ids you can talk to.`,
  );
}

/**
 * Where a message goes when one word names the target (the talk tool's `to`, `duo send`): a
 * conversation id or the older `direct_a_b` is a conversation; anything else names a partner.
 */
export async function resolveTarget(
  input: string,
  me: string,
  listPartners: () => Promise<readonly PartnerSummary[]>,
): Promise<{ to: string } | { conversationId: string }> {
  const value = input.trim();
  if (isConversationId(value) || /^direct_/.test(value)) return { conversationId: resolveConversation(value, me) };
  return { to: await resolvePartner(value, listPartners) };
}
