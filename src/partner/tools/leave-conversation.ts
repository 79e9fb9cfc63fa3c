import { z } from 'zod';
import { resolveConversation } from '../resolve.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const leaveConversationTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'leave_conversation',
    {
      description: 'Leave a group conversation; you stop receiving its messages.',
      inputSchema: { conversation: z.string().min(1).describe('Group conversation id ("group_…").') },
    },
    ({ conversation }) =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        const reply = await partner.client.leaveConversation(resolveConversation(conversation, me));
        partner.inbox.discard(reply.conversationId, Number.MAX_SAFE_INTEGER);
        partner.connection.forgetConversation(reply.conversationId);
        partner.connection.inboxDrained();
        return ok(partner, `👋 Left ${reply.conversationId}.`);
      }),
  );
};
