/**
 * A team for tests: several real brokers in this process, on one fresh PostgreSQL database,
 * as team mode runs them (each on its own port). The database is dropped when the team closes.
 */
import pg from 'pg';
import { CLUSTER_CHANNEL } from '../../src/broker/store.ts';
import type { BrokerConfigInput } from '../../src/shared/config.ts';
import { startBroker, type TestBroker } from './broker.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface TestTeam {
  brokers: TestBroker[];
  database: TestDatabase;
  close(): Promise<void>;
}

/** `route` may send a broker's database connections elsewhere (through a fault proxy, say). */
export async function startTeam(
  size: number,
  overrides: Partial<BrokerConfigInput> = {},
  route: (index: number, url: string) => string = (_, url) => url,
): Promise<TestTeam> {
  const database = await createTestDatabase();
  const brokers: TestBroker[] = [];
  for (let i = 0; i < size; i++)
    brokers.push(await startBroker({ ...overrides, dbPath: route(i, database.url) }, { keepDatabase: true }));
  return {
    brokers,
    database,
    async close() {
      await Promise.all(brokers.map((broker) => broker.close()));
      await database.drop();
    },
  };
}

/**
 * A LISTEN on a connection of its own, as an attacker's or an observer's: every payload the
 * brokers send, in the order the database delivers them.
 */
export async function eavesdrop(url: string) {
  const client = new pg.Client({ connectionString: url });
  const payloads: string[] = [];
  client.on('notification', (note) => {
    if (note.channel === CLUSTER_CHANNEL && note.payload !== undefined) payloads.push(note.payload);
  });
  await client.connect();
  await client.query(`listen ${CLUSTER_CHANNEL}`);
  return {
    payloads,
    /** Sends `list` again, as they were captured. */
    async replay(list: readonly string[]) {
      for (const payload of list) await client.query('select pg_notify($1, $2)', [CLUSTER_CHANNEL, payload]);
    },
    end: () => client.end(),
  };
}
