/**
 * Column types that differ between the two engines. The migrations are written once; these
 * choose what each engine needs so that both behave alike:
 * - ids and other keys compare and sort byte by byte (SQLite's default; PostgreSQL's "C"
 *   collation), so lists come back in the same order on both;
 * - message ids and the counters that hold them are 64-bit (SQLite's integer already is).
 */
import { PostgresAdapter, sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';

export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** A text key: partner ids, conversation ids. */
export function keyText(db: Kysely<unknown>): ColumnDataType | Expression<unknown> {
  return isPostgres(db) ? sql`text collate "C"` : 'text';
}

/** A column that holds a message id. */
export function messageIdInteger(db: Kysely<unknown>): ColumnDataType {
  return isPostgres(db) ? 'bigint' : 'integer';
}
