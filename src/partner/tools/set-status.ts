import * as z from 'zod';
import { MAX_STATUS_LENGTH } from '../../shared/protocol.ts';
import { quoted } from '../../client/display.ts';
import { defineTool, ok } from './common.ts';

export const setStatusTool = defineTool({
  name: 'set_status',
  description:
    'Set the status message other partners see in list_partners (e.g. "reviewing the auth module"). Call without a message to clear it.',
  args: {
    message: z
      .string()
      .trim()
      .max(MAX_STATUS_LENGTH)
      .optional()
      .describe(`Status text, up to ${MAX_STATUS_LENGTH} characters; omit to clear.`),
  },
  async run(partner, { message }) {
    await partner.requireIdentity();
    const reply = await partner.setStatus(message ? message : null);
    return ok(partner, reply.status ? `📝 Status set: ${quoted(reply.status)}.` : '📝 Status cleared.');
  },
});
