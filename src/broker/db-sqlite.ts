/**
 * Opens a SQLite database: one better-sqlite3 connection in WAL mode with synchronous=FULL (an
 * acknowledged message survives power loss), and a lock file so a second broker on the same file
 * refuses to start (several brokers share a database only on PostgreSQL).
 */
import { openSync, readFileSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase } from 'kysely';
import { BoundedMap } from '../shared/bounded-map.ts';
import { DuoError } from '../shared/errors.ts';
import { folderFor } from '../shared/private-files.ts';
import { BUSY_TIMEOUT_MS, STATEMENT_CACHE_SIZE } from '../shared/limits.ts';
import { storageError, type OpenedDatabase, type OpenOptions } from './db.ts';
import type { Database } from './schema.ts';

export async function openSqlite(path: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  if (path !== ':memory:') folderFor(path);
  const releaseLock = path === ':memory:' ? () => {} : acquireLock(`${path}.lock`, path);
  let sqlite: SQLite.Database;
  try {
    // The timeout blocks the event loop while it waits, so it is kept short: a lock held longer
    // becomes a clear 503 instead of a stalled broker.
    sqlite = new SQLite(path, { timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
  } catch (error) {
    releaseLock();
    throw storageError(error);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    sqlite,
    async close() {
      await db.destroy();
      releaseLock();
    },
  };
}

/**
 * Kysely prepares every query afresh; the broker runs the same few statements all the time, so
 * prepared statements are kept by SQL text (bounded, since `in (…)` lists vary).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new BoundedMap<string, SQLite.Statement>(STATEMENT_CACHE_SIZE);
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
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
