/**
 * Opens the broker's database: SQLite (a file path, the embedded default) or PostgreSQL (a
 * `postgres://` URL, team mode). Either way the migrations run before anything else touches the
 * schema, and failures of either engine become errors a caller can act on.
 */
import { Migrator, type Kysely, type MigrationProvider } from 'kysely';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { migrations } from '../../migrations/index.ts';
import { DuoError } from '../shared/errors.ts';
import { BUSY_RETRY_AFTER_SECONDS } from '../shared/limits.ts';
import { isPostgresUrl } from '../shared/db-location.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The SQLite connection (SQLite only); fault tests use it to simulate a full disk. */
  sqlite?: SQLite.Database;
  /** The pool (PostgreSQL only), and the URL a dedicated LISTEN connection opens. */
  postgres?: { pool: pg.Pool; url: string };
  close(): Promise<void>;
}

export interface OpenOptions {
  /** How long a statement waits for a lock held by another process before failing, in ms. */
  busyTimeoutMs?: number;
}

export async function openDatabase(location: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  const opened = isPostgresUrl(location)
    ? await (await import('./db-postgres.ts')).openPostgres(location)
    : await (await import('./db-sqlite.ts')).openSqlite(location, options);
  try {
    await migrate(opened.db);
  } catch (error) {
    await opened.close();
    throw storageError(error);
  }
  return opened;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

async function migrate(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    if (error instanceof DuoError) throw error;
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    if (failed === undefined) throw error;
    throw new DuoError('internal', `Database migration ${failed} failed: ${String(error)}`, { cause: error });
  }
}

/** Node's errors for a connection that could not be made or was lost. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Maps SQLite and PostgreSQL failures to errors a caller can act on; everything else passes through. */
export function storageError(error: unknown): unknown {
  if (error instanceof DuoError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (
    (typeof code === 'string' && (CONNECTION_ERRORS.has(code) || /^(08|57P0)/.test(code))) ||
    /Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/.test(
      message,
    )
  ) {
    return new DuoError('storage_unavailable', undefined, { cause: error, retryAfter: BUSY_RETRY_AFTER_SECONDS });
  }
  if (typeof code !== 'string') return error;
  // SQLITE_FULL; PostgreSQL's disk_full (53100) and insufficient_resources class.
  if (code === 'SQLITE_FULL' || code === '53100') {
    return new DuoError('storage_full', undefined, { cause: error });
  }
  // Lock timeouts, and PostgreSQL's serialization failure, deadlock and lock_not_available.
  if (
    code.startsWith('SQLITE_BUSY') ||
    code.startsWith('SQLITE_LOCKED') ||
    ['40001', '40P01', '55P03'].includes(code)
  ) {
    return new DuoError('storage_busy', undefined, { cause: error, retryAfter: BUSY_RETRY_AFTER_SECONDS });
  }
  if (!code.startsWith('SQLITE_') && !/^[0-9A-Z]{5}$/.test(code)) return error;
  return new DuoError(
    'internal',
    `The broker's database failed (${code}). Nothing was saved; retry, and check the broker log if it persists.`,
    { cause: error },
  );
}
