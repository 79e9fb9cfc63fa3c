/** `duo`: one command line for the broker, the partner and the humans watching them. */
import { parseArgs } from 'node:util';
import { runBroker } from '../broker/main.ts';
import { runPartner } from '../partner/main.ts';

const USAGE = `Usage: duo <command> [options]

Commands:
  broker     Start the broker (--port, --host, --db, --token)
  partner    Run the MCP server Claude Code spawns (stdio)

Run "duo <command> --help" for a command's options.`;

const BROKER_HELP = `Usage: duo broker [--port N] [--host ADDR] [--db FILE] [--token TOKEN]

Starts the Claude Duo broker.
  --port   Port to listen on (BROKER_PORT, default 3210)
  --host   Address to bind (BROKER_HOST, default 127.0.0.1; any other address needs a token)
  --db     SQLite database file (DUO_DB, default $XDG_DATA_HOME/claude-duo/duo.db)
  --token  Access token every request must carry in X-Duo-Token (DUO_TOKEN)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'broker': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, host: { type: 'string' }, db: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help) return help(BROKER_HELP);
      await runBroker({
        ...(values.port === undefined ? {} : { port: values.port }),
        ...(values.host === undefined ? {} : { host: values.host }),
        ...(values.db === undefined ? {} : { dbPath: values.db }),
        ...(values.token === undefined ? {} : { token: values.token }),
      });
      return -1;
    }
    case 'partner':
      if (rest.includes('--help') || rest.includes('-h')) return help('Usage: duo partner\n\nRuns the MCP server over stdio. Configure it with BROKER_URL, PARTNER_ID, PARTNER_NAME, DUO_TOKEN.');
      await runPartner();
      return -1;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help(USAGE);
    default:
      process.stderr.write(`duo: unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

function help(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a long-running command (broker, partner) that exits on its own.
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`duo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
