import * as z from 'zod';
import { defineTool, ok } from './common.ts';

export const notificationsTool = defineTool({
  name: 'notifications',
  description:
    "Turn offline notices on or off: while this session is offline, the broker writes a short unread summary (never message text) into this project's CLAUDE.md.",
  args: { enabled: z.boolean().describe('true to enable, false to disable.') },
  async run(partner, { enabled }) {
    await partner.requireIdentity();
    const reply = await partner.setNotifications(enabled);
    return ok(
      partner,
      reply.notifications ? '🔔 CLAUDE.md notifications enabled.' : '🔕 CLAUDE.md notifications disabled.',
    );
  },
});
