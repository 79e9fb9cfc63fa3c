import * as z from 'zod';
import { resolveConversation } from '../../client/resolve.ts';
import { defineTool, ok } from './common.ts';

export const leaveConversationTool = defineTool({
  name: 'leave_conversation',
  description: 'Leave a group conversation; you stop receiving its messages.',
  args: { conversation: z.string().min(1).describe('A group conversation id ("group_…") from list_conversations.') },
  async run(partner, { conversation }) {
    const me = (await partner.requireIdentity()).partnerId;
    const left = await partner.leaveConversation(resolveConversation(conversation, me));
    return ok(partner, `👋 Left ${left}.`);
  },
});
