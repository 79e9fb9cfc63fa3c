import { localTime, quoted } from '../format.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const listConversationsTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'list_conversations',
    { description: 'List your conversations (direct threads and groups) with members and unread counts.' },
    () =>
      run(async () => {
        const me = (await partner.requireIdentity()).partnerId;
        const { conversations } = await partner.client.conversations();
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
      }),
  );
};
