import { runPartner } from '../../partner/main.ts';
import { DEFAULT_BROKER_URL } from '../../shared/paths.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'partner',
  summary: 'Run the MCP server Claude Code spawns',
  help: `Usage: duo partner [--broker URL] [--id ID] [--name NAME] [--token TOKEN]

Runs the MCP server over stdio; Claude Code starts it (see "duo install").
  --broker  Broker URL (BROKER_URL, default ${DEFAULT_BROKER_URL})
  --id      Partner id (PARTNER_ID, default: the project folder's name as a slug)
  --name    Display name (PARTNER_NAME, default: the id)
  --token   The broker's access token (DUO_TOKEN), when it requires one`,
  async run(args, ctx) {
    const { values } = parse(
      args,
      { broker: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, token: { type: 'string' } },
      false,
    );
    await runPartner({
      env: ctx.env,
      cwd: ctx.cwd,
      overrides: {
        ...(values.broker === undefined ? {} : { brokerUrl: values.broker }),
        ...(values.id === undefined ? {} : { partnerId: values.id }),
        ...(values.name === undefined ? {} : { name: values.name }),
        ...(values.token === undefined ? {} : { token: values.token }),
      },
    });
    return undefined;
  },
};
