/**
 * Opens the SQLite database: one better-sqlite3 connection in WAL mode with synchronous=FULL (an
 * acknowledged message survives power loss), a lock file so a second broker on the same file
 * refuses to start, and the migrations run before anything else touches the schema.
 */
import { mkdirSync, openSync, readFileSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { DuoError } from '../shared/errors.ts';
import type { Database } from './schema.ts';

export interface OpenedDatabase {
  db: Kysely<Database>;
  sqlite: SQLite.Database;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** How long a statement waits for a lock held by another process before failing, in ms. */
  busyTimeoutMs?: number;
}

export async function openDatabase(path: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const releaseLock = path === ':memory:' ? () => {} : acquireLock(`${path}.lock`, path);
  let sqlite: SQLite.Database;
  try {
    // The timeout blocks the event loop while it waits, so it is kept short: a lock held longer
    // becomes a clear 503 instead of a stalled broker.
    sqlite = new SQLite(path, { timeout: options.busyTimeoutMs ?? 250 });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
  } catch (error) {
    releaseLock();
    throw storageError(error);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    releaseLock();
    throw error;
  }
  return {
    db,
    sqlite,
    async close() {
      await db.destroy();
      releaseLock();
    },
  };
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query afresh; the broker runs the same few statements all the time, so
 * prepared statements are kept by SQL text (bounded, since `in (…)` lists vary).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        statement = sqlite.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

async function migrate(db: Kysely<Database>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DuoError('internal', `Database migration ${failed} failed: ${String(error)}`, { cause: error });
  }
}

/**
 * A lock file holding the broker's pid. A lock whose process is gone (crash, SIGKILL) is stale
 * and taken over; a live one means another broker owns the database.
 */
function acquireLock(lockPath: string, dbPath: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      // Our own pid means this process already opened the database.
      if (Number.isInteger(owner) && (owner === process.pid || isAlive(owner))) {
        throw new DuoError(
          'conflict',
          `Another broker (pid ${owner}) is already using ${dbPath}. Stop it first, or give this one its own database with DUO_DB / --db.`,
        );
      }
      unlinkSync(lockPath);
    }
  }
  throw new DuoError('conflict', `Could not take the lock file ${lockPath}; remove it if no broker is running.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Maps SQLite failures to errors a caller can act on; everything else passes through. */
export function storageError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  if (code === 'SQLITE_FULL') {
    return new DuoError(
      'storage_full',
      'The broker could not store this: its disk or database is full. Nothing was saved; free space and retry.',
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DuoError(
      'storage_busy',
      'The broker database is locked by another process. Nothing was saved; retry in a moment.',
      { cause: error, retryAfter: 1 },
    );
  }
  return new DuoError(
    'internal',
    `The broker's database failed (${code}). Nothing was saved; retry, and check the broker log if it persists.`,
    { cause: error },
  );
}
