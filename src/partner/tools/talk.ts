import { z } from 'zod';
import { DuoError } from '../../shared/errors.ts';
import { conversationLabel } from '../../client/display.ts';
import { resolveConversation, resolveTarget } from '../../client/resolve.ts';
import type { Partner } from '../partner.ts';
import type { SendTarget } from '../outbox.ts';
import { defineTool, ok } from './common.ts';

export const talkTool = defineTool({
  name: 'talk',
  description:
    'Send a message to another partner (to: their partner id; opens your direct conversation) or to a conversation (conversation: an id from list_conversations, e.g. a group). With neither, replies in the conversation of the last message you received. Returns once the broker has stored the message.',
  args: {
    message: z.string().min(1).describe('The message text (not empty).'),
    to: z.string().min(1).optional().describe('Partner id (or display name) to message directly.'),
    conversation: z.string().min(1).optional().describe('Conversation id, e.g. "direct:alice:bob" or "group_…".'),
  },
  async run(partner, { message, to, conversation }) {
    const me = (await partner.requireIdentity()).partnerId;
    const target = await targetOf(partner, me, to, conversation);
    const sent = await partner.talk(message, target).catch((error: unknown) => {
      // The broker's sentence for an unknown id is written for REST clients; say it in tool terms.
      if (error instanceof DuoError && error.code === 'unknown_partner' && 'to' in target) {
        throw new DuoError(
          'unknown_partner',
          `No partner is registered as "${target.to}". Call list_partners to see the ids you can talk to.`,
        );
      }
      throw error;
    });
    const where = conversationLabel(sent.conversationId, me);
    const label = where === sent.conversationId ? sent.conversationId : `${where} (${sent.conversationId})`;
    const note = sent.duplicate ? ' (already stored earlier; not sent twice)' : '';
    return ok(partner, `✉️ Sent to ${label} as message #${sent.messageId}${note}.`);
  },
});

async function targetOf(
  partner: Partner,
  me: string,
  to: string | undefined,
  conversation: string | undefined,
): Promise<SendTarget> {
  if (to !== undefined && conversation !== undefined) {
    throw new DuoError('bad_request', 'Give either "to" (a partner id) or "conversation", not both.');
  }
  if (to !== undefined) return resolveTarget(to, me, async () => (await partner.partners()).partners);
  if (conversation !== undefined) return { conversationId: resolveConversation(conversation, me) };
  if (partner.lastConversation) return { conversationId: partner.lastConversation };
  throw new DuoError(
    'bad_request',
    'Say where the message goes: to: "<partner id>" (see list_partners) or conversation: "<id>" (see list_conversations).',
  );
}
