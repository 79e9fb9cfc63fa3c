import type { Kysely } from 'kysely';
import { isPostgres } from './columns.ts';

/**
 * Team mode: the key brokers sign what they tell each other with. Any role that can connect to
 * a PostgreSQL database may send a NOTIFY; only roles that can read this table (the brokers')
 * can sign one that other brokers believe. SQLite has a single broker and needs none.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await db.schema
    .createTable('cluster_key')
    .addColumn('id', 'integer', (col) => col.primaryKey())
    .addColumn('secret', 'text', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await db.schema.dropTable('cluster_key').execute();
}
