import * as z from 'zod';
import { DuoError } from '../../shared/errors.ts';
import { MAX_GROUP_SIZE, MAX_NAME_LENGTH, type PartnerSummary } from '../../shared/protocol.ts';
import { quoted } from '../../client/display.ts';
import { resolvePartner } from '../../client/resolve.ts';
import { defineTool, ok } from './common.ts';

export const createConversationTool = defineTool({
  name: 'create_conversation',
  description:
    'Create a named group conversation with other partners (you are added automatically). Returns its id; send to it with talk(message, conversation: "<id>").',
  args: {
    name: z
      .string()
      .trim()
      .min(1)
      .max(MAX_NAME_LENGTH)
      .describe(`Group name, 1-${MAX_NAME_LENGTH} characters, e.g. "Backend Team".`),
    participants: z
      .union([z.string(), z.array(z.string())])
      .describe('Partner ids to add: a comma-separated string ("bob, carol") or an array.'),
  },
  async run(partner, { name, participants }) {
    const me = (await partner.requireIdentity()).partnerId;
    const raw = (Array.isArray(participants) ? participants : participants.split(','))
      .map((p) => p.trim())
      .filter(Boolean);
    let cached: PartnerSummary[] | undefined;
    const list = async () => (cached ??= (await partner.partners()).partners);
    const ids = [...new Set(await Promise.all(raw.map((p) => resolvePartner(p, list))))].filter((id) => id !== me);
    if (ids.length === 0)
      throw new DuoError('bad_request', 'Name at least one other partner in "participants" (see list_partners).');
    if (ids.length > MAX_GROUP_SIZE)
      throw new DuoError('bad_request', `A group has at most ${MAX_GROUP_SIZE} participants.`);
    const { conversation } = await partner.createConversation({ name, participants: ids });
    return ok(
      partner,
      `📁 Created: ${conversation.id} ${quoted(conversation.name)} with ${conversation.members.join(', ')}.\nSend with talk(message, conversation: "${conversation.id}").`,
    );
  },
});
