import * as z from 'zod';
import { MAX_NAME_LENGTH } from '../../shared/protocol.ts';
import { defineTool, ok } from './common.ts';

export const registerTool = defineTool({
  name: 'register',
  description:
    'Register this session with the Duo network. Happens automatically at start-up; call it to set a display name (it sticks across restarts), to retry after a broker outage, or to take your partner id back after another session took it over.',
  args: {
    name: z
      .string()
      .trim()
      .min(1)
      .max(MAX_NAME_LENGTH)
      .optional()
      .describe(`Display name other partners see, 1-${MAX_NAME_LENGTH} characters (optional).`),
  },
  async run(partner, { name }) {
    const identity = await partner.register(name);
    const lines = [
      `✅ Registered as ${identity.partnerId} (name: ${JSON.stringify(identity.name)}) on ${partner.brokerUrl}.`,
      identity.fallback
        ? `Note: the id this project would normally use belongs to another project, so you are ${identity.partnerId}.`
        : '',
      `Others reach you with talk(message, to: "${identity.partnerId}").`,
    ];
    return ok(partner, lines.filter(Boolean).join('\n'));
  },
});
