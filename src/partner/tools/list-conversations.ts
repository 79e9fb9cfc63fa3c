import { localTime, quoted } from '../../client/display.ts';
import { defineTool, ok } from './common.ts';

export const listConversationsTool = defineTool({
  name: 'list_conversations',
  description: 'List your conversations (direct threads and groups) with members and unread counts.',
  args: {},
  async run(partner) {
    const me = (await partner.requireIdentity()).partnerId;
    const { conversations } = await partner.conversations();
    if (conversations.length === 0) {
      return ok(
        partner,
        'No conversations yet. Start one with talk(message, to: "<partner id>") or create_conversation.',
      );
    }
    const lines = conversations.map((c) => {
      const others = c.members.filter((m) => m !== me);
      const parts = [`📁 ${c.id}`];
      if (c.kind === 'group') parts.push(`${quoted(c.name)} with ${others.join(', ') || 'no one else'}`);
      else parts.push(`with ${others.join(', ') || me}`);
      parts.push(`${c.unread} unread`);
      if (c.lastMessageAt) parts.push(`last ${localTime(c.lastMessageAt)}`);
      return parts.join(' · ');
    });
    return ok(partner, lines.join('\n'));
  },
});
