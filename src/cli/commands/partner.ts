import { runPartner } from '../../partner/main.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'partner',
  summary: 'Run the MCP server Claude Code spawns',
  help: `Usage: duo partner

Runs the MCP server over stdio; Claude Code starts it (see "duo install").
Configure it with BROKER_URL, PARTNER_ID, PARTNER_NAME and DUO_TOKEN.`,
  async run(args) {
    parse(args, {}, false);
    await runPartner();
    return undefined;
  },
};
