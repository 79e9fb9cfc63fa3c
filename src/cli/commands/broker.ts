import { runBroker } from '../../broker/main.ts';
import { DEFAULT_PORT } from '../../shared/paths.ts';
import { parse, type Command } from '../command.ts';

export const command: Command = {
  name: 'broker',
  summary: 'Start the broker',
  help: `Usage: duo broker [--port N] [--host ADDR] [--db FILE] [--token TOKEN]

Starts the Claude Duo broker.
  --port   Port to listen on (BROKER_PORT, default ${DEFAULT_PORT})
  --host   Address to bind (BROKER_HOST, default 127.0.0.1; any other address needs a token)
  --db     SQLite database file (DUO_DB, default $XDG_DATA_HOME/claude-duo/duo.db)
  --token  Access token every request must carry in X-Duo-Token (DUO_TOKEN)`,
  async run(args) {
    const { values } = parse(
      args,
      { port: { type: 'string' }, host: { type: 'string' }, db: { type: 'string' }, token: { type: 'string' } },
      false,
    );
    await runBroker({
      ...(values.port === undefined ? {} : { port: values.port }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values.db === undefined ? {} : { dbPath: values.db }),
      ...(values.token === undefined ? {} : { token: values.token }),
    });
    return undefined;
  },
};
