import { type Kysely, sql } from 'kysely';
import { keyText } from './columns.ts';

/**
 * The human's seat: partners marked as humans (the web console's identities), the console's
 * login sessions, and the conversations the loop guard holds (so a hold survives a restart).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyText(db);
  await db.schema
    .alterTable('partners')
    .addColumn('kind', 'text', (col) =>
      col
        .notNull()
        .defaultTo('agent')
        .check(sql`kind in ('agent', 'human')`),
    )
    .execute();

  await db.schema
    .createTable('console_sessions')
    // SHA-256 of the session cookie's value; the value itself is never stored.
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('partner_id', key, (col) => col.notNull().references('partners.id'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('holds')
    .addColumn('conversation_id', key, (col) => col.primaryKey().references('conversations.id'))
    .addColumn('held_at', 'text', (col) => col.notNull())
    // The policy that was exceeded, kept with the hold so its explanation stays true after a change.
    .addColumn('messages', 'integer', (col) => col.notNull())
    .addColumn('window_ms', 'integer', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('holds').execute();
  await db.schema.dropTable('console_sessions').execute();
  await db.schema.alterTable('partners').dropColumn('kind').execute();
}
