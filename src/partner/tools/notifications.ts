import { z } from 'zod';
import { ok, run, type ToolRegistrar } from './common.ts';

export const notificationsTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'notifications',
    {
      description:
        "Turn offline notices on or off: while this session is offline, the broker writes a short unread summary (never message text) into this project's CLAUDE.md.",
      inputSchema: { enabled: z.boolean().describe('true to enable, false to disable.') },
    },
    ({ enabled }) =>
      run(async () => {
        await partner.requireIdentity();
        const reply = await partner.client.setNotifications(enabled);
        return ok(
          partner,
          reply.notifications ? '🔔 CLAUDE.md notifications enabled.' : '🔕 CLAUDE.md notifications disabled.',
        );
      }),
  );
};
