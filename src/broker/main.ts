/** `duo broker`: reads config, opens the database, listens, and shuts down cleanly on signals. */
import { brokerConfigFromEnv, type BrokerConfigInput } from '../shared/config.ts';
import { describeDbLocation } from '../shared/db-location.ts';
import { buildBroker } from './app.ts';

export async function runBroker(overrides: Partial<BrokerConfigInput> = {}): Promise<void> {
  const config = brokerConfigFromEnv(process.env, overrides);
  const broker = await buildBroker(config);
  const shutdown = (signal: string) => {
    broker.app.log.info(`${signal}: shutting down`);
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  let listening: string;
  try {
    listening = await broker.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // The port is taken, say: the database pool and the team's connection close before the error is told.
    await broker.close().catch(() => {});
    throw error;
  }
  // Fastify names the scheme from its own https option, which a server of ours does not set.
  const address = config.tlsCert === undefined ? listening : listening.replace(/^http:/, 'https:');
  broker.app.log.info({ db: describeDbLocation(config.dbPath) }, `Claude Duo broker listening on ${address}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBroker().catch((error: unknown) => {
    process.stderr.write(`duo broker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
