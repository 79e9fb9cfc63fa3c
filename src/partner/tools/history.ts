import * as z from 'zod';
import { HISTORY_DEFAULT_LIMIT, HISTORY_TOOL_MAX_LIMIT } from '../../shared/defaults.ts';
import { resolveConversation } from '../../client/resolve.ts';
import { formatMessage, receiptLine } from '../../client/display.ts';
import { defineTool, ok } from './common.ts';

export const historyTool = defineTool({
  name: 'history',
  description: `Show the latest messages of a conversation, oldest first; unread messages it shows count as read. Default ${HISTORY_DEFAULT_LIMIT}, max ${HISTORY_TOOL_MAX_LIMIT}. Your own messages show how far they got for each recipient: seen (its model got the text), pushed (handed to its session, not seen yet) or stored (waiting on the broker).`,
  args: {
    conversation: z
      .string()
      .min(1)
      .describe(
        'Conversation id, e.g. "direct:alice:bob" or "group_…" (a partner id means your direct thread with them).',
      ),
    limit: z
      .int()
      .min(1)
      .max(HISTORY_TOOL_MAX_LIMIT)
      .optional()
      .describe(`How many of the newest messages, 1 to ${HISTORY_TOOL_MAX_LIMIT} (default ${HISTORY_DEFAULT_LIMIT}).`),
  },
  async run(partner, { conversation, limit }, extra) {
    const me = (await partner.requireIdentity()).partnerId;
    const conversationId = resolveConversation(conversation, me);
    const reply = await partner.history(conversationId, limit ?? HISTORY_DEFAULT_LIMIT, extra.signal);
    if (reply.messages.length === 0) return ok(partner, `📁 ${conversationId}\n(no messages yet)`);
    const more = reply.hasMore ? '\n(older messages exist; raise limit to see more)' : '';
    // Receipts on the model's own messages answer "did bob see it?".
    const lines = reply.messages.map((m) => formatMessage(m, m.from === me ? receiptLine(m.receipts) : ''));
    return ok(partner, `${[`📁 ${conversationId}`, ...lines].join('\n')}${more}`);
  },
});
