import { z } from 'zod';
import { DuoError } from '../../shared/errors.ts';
import { conversationLabel } from '../format.ts';
import { resolveConversation, resolveTarget } from '../resolve.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const talkTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'talk',
    {
      description:
        'Send a message to another partner (to: their partner id; opens your direct conversation) or to a conversation (conversation: an id from list_conversations, e.g. a group). With neither, replies in the conversation of the last message you received. Returns once the broker has stored the message.',
      inputSchema: {
        message: z.string().min(1).describe('The message text.'),
        to: z.string().min(1).optional().describe('Partner id (or display name) to message directly.'),
        conversation: z.string().min(1).optional().describe('Conversation id, e.g. "direct:alice:bob" or "group_…".'),
      },
    },
    ({ message, to, conversation }) =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        if (to !== undefined && conversation !== undefined) {
          throw new DuoError('bad_request', 'Give either "to" (a partner id) or "conversation", not both.');
        }
        let target: { to: string } | { conversationId: string };
        if (to !== undefined) {
          target = await resolveTarget(to, me, async () => (await partner.client.partners()).partners);
        } else if (conversation !== undefined) {
          target = { conversationId: resolveConversation(conversation, me) };
        } else if (partner.lastConversation) {
          target = { conversationId: partner.lastConversation };
        } else {
          throw new DuoError(
            'bad_request',
            'Say where the message goes: to: "<partner id>" (see list_partners) or conversation: "<id>" (see list_conversations).',
          );
        }
        const sent = await partner.talk(message, target);
        const where = conversationLabel(sent.conversationId, me);
        const label = where === sent.conversationId ? sent.conversationId : `${where} (${sent.conversationId})`;
        const note = sent.duplicate ? ' (already stored earlier; not sent twice)' : '';
        return ok(partner, `✉️ Sent to ${label} as message #${sent.messageId}${note}.`);
      }),
  );
};
