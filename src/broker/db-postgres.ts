/**
 * Opens a PostgreSQL database (team mode): a small pg pool for queries, through Kysely's Postgres
 * dialect. Several brokers may share the database; what keeps them consistent lives with the
 * store (one writer at a time for messages) and the cluster bus (LISTEN/NOTIFY).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { isLoopbackHost } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import { describeDbLocation } from '../shared/db-location.ts';
import {
  PG_CONNECT_TIMEOUT_MS,
  PG_IDLE_IN_TRANSACTION_MS,
  PG_KEEPALIVE_DELAY_MS,
  PG_POOL_SIZE,
  PG_QUERY_TIMEOUT_MS,
} from '../shared/limits.ts';
import type { OpenedDatabase } from './db.ts';
import type { Database } from './schema.ts';

const INT8_OID = 20;

/**
 * Message ids and counts are int8, which pg returns as strings by default; every id the broker
 * handles stays far below 2^53, so they are read as numbers.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Connection settings for every pool and LISTEN client opened on `url`. */
export function postgresConfig(url: string, applicationName: string): pg.ClientConfig {
  return {
    connectionString: url,
    types,
    application_name: applicationName,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    // A broker that vanishes mid-transaction (a pulled cable) would otherwise hold the write-order
    // lock until the server's TCP keepalive notices, hours later, stalling every other broker.
    idle_in_transaction_session_timeout: PG_IDLE_IN_TRANSACTION_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: PG_KEEPALIVE_DELAY_MS,
  };
}

/**
 * Refuses a database on another machine when the URL does not say whether to use TLS: the
 * connection carries every message and the key the brokers sign with, and without `sslmode`
 * node-postgres would send them in clear text. A Unix socket or a loopback address stays local.
 */
export function checkDatabaseTransport(url: string, env: NodeJS.ProcessEnv = process.env): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return; // node-postgres reports what it cannot parse when it connects
  }
  const host = parsed.searchParams.get('host') ?? decodeURIComponent(parsed.hostname).toLowerCase();
  if (host === '' || host.startsWith('/') || isLoopbackHost(host)) return;
  if (parsed.searchParams.has('sslmode') || parsed.searchParams.has('ssl') || env.PGSSLMODE) return;
  throw new DuoError(
    'bad_request',
    `Refusing to use PostgreSQL at ${describeDbLocation(url)} without TLS settings: it is on another machine, and with no sslmode in the URL every message and the brokers' signing key would cross the network in clear text. Add ?sslmode=verify-full to the URL (TLS with the server's certificate checked; add sslrootcert=<file> for a private CA), or ?sslmode=disable if the network between the brokers and the database is private and trusted.`,
  );
}

export async function openPostgres(url: string): Promise<OpenedDatabase> {
  checkDatabaseTransport(url);
  const pool = new pg.Pool({ ...postgresConfig(url, 'claude-duo'), max: PG_POOL_SIZE });
  // A connection that dies (server restart, network cut) fails the queries running on it, whose
  // callers report it, and is replaced on the next query. Without these listeners the error
  // event of the pool (idle connections) or of a connection in use would end the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    await pool.query('select 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new DuoError(
      'storage_unavailable',
      `Cannot reach PostgreSQL at ${describeDbLocation(url)} (${(error as Error).message}). Check DUO_DB (--db) and that the server is running and accepts this user.`,
      { cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    postgres: { pool, url },
    async close() {
      await db.destroy();
    },
  };
}
