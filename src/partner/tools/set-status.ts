import { z } from 'zod';
import { MAX_STATUS_LENGTH } from '../../shared/protocol.ts';
import { quoted } from '../format.ts';
import { ok, run, type ToolRegistrar } from './common.ts';

export const setStatusTool: ToolRegistrar = (server, partner) => {
  server.registerTool(
    'set_status',
    {
      description:
        'Set the status message other partners see in list_partners (e.g. "reviewing the auth module"). Call without a message to clear it.',
      inputSchema: {
        message: z.string().trim().max(MAX_STATUS_LENGTH).optional().describe('Status text; omit to clear.'),
      },
    },
    ({ message }) =>
      run(async () => {
        await partner.requireIdentity();
        const reply = await partner.client.setStatus(message ? message : null);
        return ok(partner, reply.status ? `📝 Status set: ${quoted(reply.status)}.` : '📝 Status cleared.');
      }),
  );
};
