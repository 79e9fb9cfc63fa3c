/**
 * The real PostgreSQL server for tests: a fresh database per test broker (dropped afterwards),
 * and running a suite written for SQLite against PostgreSQL as well.
 *
 * Where no server answers (a laptop without PostgreSQL), the suites are reported as skipped with
 * the reason; with DUO_REQUIRE_POSTGRES=1 (CI, which has the server) that is a failure instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The server's maintenance database; test databases are created and dropped through it. */
export const POSTGRES_ADMIN_URL = process.env.DUO_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

let dialect: 'sqlite' | 'postgres' = 'sqlite';

/** Which engine `startBroker` gives the brokers of this test file. */
export function testDialect(): 'sqlite' | 'postgres' {
  return dialect;
}

let availability: Promise<string | undefined> | undefined;

/** Why PostgreSQL tests cannot run here, or undefined when the server answers. */
export function postgresSkipReason(): Promise<string | undefined> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      const reason = `no PostgreSQL server answers at ${POSTGRES_ADMIN_URL} (${(error as Error).message})`;
      if (process.env.DUO_REQUIRE_POSTGRES === '1') throw new Error(`${reason}, and DUO_REQUIRE_POSTGRES=1`);
      return reason;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return availability;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Test databases of this process not dropped yet, by URL: a broker restarted on one drops it when it closes. */
const created = new Map<string, TestDatabase>();

export function testDatabaseAt(url: string): TestDatabase | undefined {
  return created.get(url);
}

/** A new, empty database on the test server; `drop` removes it (ending any connection left). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `duo_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const database: TestDatabase = {
    url: url.toString(),
    name,
    async drop() {
      created.delete(database.url);
      await admin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
  created.set(database.url, database);
  return database;
}

/**
 * Runs a suite written for the default engine against PostgreSQL: every broker its tests start
 * gets a fresh PostgreSQL database. `load` imports the suite's module.
 */
export async function onPostgres(suite: string, load: () => Promise<unknown>): Promise<void> {
  const reason = await postgresSkipReason();
  if (reason !== undefined) {
    describe.skip(`${suite} on PostgreSQL — skipped: ${reason}`, () => {
      it('needs a PostgreSQL server', () => {});
    });
    return;
  }
  dialect = 'postgres';
  await load();
}
