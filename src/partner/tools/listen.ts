/**
 * listen: answers at once from the inbox, otherwise waits for a message or the timeout while
 * sending progress notifications so the client does not give up. Messages are removed and
 * acknowledged only when the result is about to be returned: a cancelled listen consumes nothing.
 */
import * as z from 'zod';
import { LISTEN_BATCH } from '../../shared/defaults.ts';
import { DEFAULT_LISTEN_SECONDS, MAX_LISTEN_SECONDS } from '../../shared/limits.ts';
import { resolveConversation } from '../../client/resolve.ts';
import { formatMessages } from '../format.ts';
import { defineTool, footer, ok, withProgress } from './common.ts';

export const listenTool = defineTool({
  name: 'listen',
  alwaysLoad: true,
  description: `Wait for messages from other partners and mark them read. Returns at once if messages are waiting, otherwise waits up to \`timeout\` SECONDS (default ${DEFAULT_LISTEN_SECONDS}, 0 = just check, max ${MAX_LISTEN_SECONDS} = 60 min). Optionally only for one conversation.`,
  args: {
    conversation: z
      .string()
      .min(1)
      .optional()
      .describe('Only messages of this conversation id (e.g. "direct:alice:bob", "group_…").'),
    timeout: z
      .number()
      .min(0)
      .optional()
      .describe(
        `Seconds to wait: 0 just checks, up to ${MAX_LISTEN_SECONDS} (default ${DEFAULT_LISTEN_SECONDS}; more is treated as ${MAX_LISTEN_SECONDS}).`,
      ),
  },
  async run(partner, args, extra) {
    const me = (await partner.requireIdentity()).partnerId;
    const conversationId = args.conversation === undefined ? undefined : resolveConversation(args.conversation, me);
    const seconds = Math.min(args.timeout ?? DEFAULT_LISTEN_SECONDS, MAX_LISTEN_SECONDS);

    if (partner.held(conversationId).length === 0) {
      await partner.requireConnected();
      // Nothing held for it: make sure it is a conversation that can ever have messages for me.
      if (conversationId !== undefined) await partner.requireConversation(conversationId);
      const end = await withProgress(partner, seconds, extra, 'waiting for messages', (signal) =>
        partner.waitForMessage(conversationId, seconds * 1000, signal),
      );
      if (end === 'cancelled') return { content: [] };
      if (end === 'timeout') {
        const where = conversationId === undefined ? '' : ` in ${conversationId}`;
        return ok(partner, `No new messages${where} within ${seconds} s. Call listen again to keep waiting.`);
      }
    }

    const messages = partner.take(conversationId, LISTEN_BATCH);
    const more = partner.held(conversationId).length;
    const text = [formatMessages(messages), more > 0 ? `(${more} more waiting — call listen again)` : '']
      .filter(Boolean)
      .join('\n\n');
    const line = footer(partner);
    return { content: [{ type: 'text', text: line && more === 0 ? `${text}\n\n${line}` : text }] };
  },
});
