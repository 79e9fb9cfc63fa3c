import { z } from 'zod';
import { formatMessages } from '../format.ts';
import { resolveConversation } from '../resolve.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const HISTORY_DEFAULT_LIMIT = 20;
export const HISTORY_MAX_LIMIT = 200;

export const historyTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'history',
    {
      description: `Show the latest messages of a conversation, oldest first (read-only: does not mark anything read). Default ${HISTORY_DEFAULT_LIMIT}, max ${HISTORY_MAX_LIMIT}.`,
      inputSchema: {
        conversation: z
          .string()
          .min(1)
          .describe(
            'Conversation id, e.g. "direct:alice:bob" or "group_…" (a partner id means your direct thread with them).',
          ),
        limit: z
          .int()
          .min(1)
          .max(HISTORY_MAX_LIMIT)
          .optional()
          .describe(`How many of the newest messages (default ${HISTORY_DEFAULT_LIMIT}).`),
      },
    },
    ({ conversation, limit }) =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        const conversationId = resolveConversation(conversation, me);
        const reply = await partner.client.history(conversationId, { limit: limit ?? HISTORY_DEFAULT_LIMIT });
        if (reply.messages.length === 0) return ok(partner, `📁 ${conversationId}\n(no messages yet)`);
        const more = reply.hasMore ? '\n(older messages exist; raise limit to see more)' : '';
        return ok(partner, `${formatMessages(reply.messages)}${more}`);
      }),
  );
};
