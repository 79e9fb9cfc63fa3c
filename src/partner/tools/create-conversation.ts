import { z } from 'zod';
import { DuoError } from '../../shared/errors.ts';
import { MAX_GROUP_SIZE, MAX_NAME_LENGTH } from '../../shared/protocol.ts';
import { quoted } from '../format.ts';
import { resolvePartner } from '../resolve.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const createConversationTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'create_conversation',
    {
      description:
        'Create a named group conversation with other partners (you are added automatically). Returns its id; send to it with talk(message, conversation: "<id>").',
      inputSchema: {
        name: z.string().trim().min(1).max(MAX_NAME_LENGTH).describe('Group name, e.g. "Backend Team".'),
        participants: z
          .union([z.string(), z.array(z.string())])
          .describe('Partner ids to add: a comma-separated string ("bob, carol") or an array.'),
      },
    },
    ({ name, participants }) =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        const raw = (Array.isArray(participants) ? participants : participants.split(','))
          .map((p) => p.trim())
          .filter(Boolean);
        let cached: Awaited<ReturnType<typeof partner.client.partners>>['partners'] | undefined;
        const list = async () => (cached ??= (await partner.client.partners()).partners);
        const ids = [...new Set(await Promise.all(raw.map((p) => resolvePartner(p, list))))].filter((id) => id !== me);
        if (ids.length === 0)
          throw new DuoError('bad_request', 'Name at least one other partner in "participants" (see list_partners).');
        if (ids.length > MAX_GROUP_SIZE)
          throw new DuoError('bad_request', `A group has at most ${MAX_GROUP_SIZE} participants.`);
        const { conversation } = await partner.client.createConversation({ name, participants: ids });
        return ok(
          partner,
          `📁 Created: ${conversation.id} ${quoted(conversation.name)} with ${conversation.members.join(', ')}.\nSend with talk(message, conversation: "${conversation.id}").`,
        );
      }),
  );
};
