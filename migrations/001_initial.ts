import { type Kysely, sql } from 'kysely';
import { isPostgres, keyText, messageIdInteger } from './columns.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  const key = keyText(db);
  const messageId = messageIdInteger(db);
  await db.schema
    .createTable('partners')
    .addColumn('id', key, (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('secret_hash', 'text', (col) => col.notNull().unique())
    .addColumn('project_path', 'text')
    .addColumn('status', 'text')
    .addColumn('notifications', 'integer', (col) => col.notNull().defaultTo(1))
    // Highest message id ever pushed to this partner: a replayed message at or below it is
    // flagged `redelivered`.
    .addColumn('pushed_up_to', messageId, (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('last_seen', 'text')
    .execute();

  await db.schema
    .createTable('conversations')
    .addColumn('id', key, (col) => col.primaryKey())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('direct', 'group')`))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('created_by', key, (col) => col.notNull().references('partners.id'))
    .addColumn('created_at', 'text', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('members')
    .addColumn('conversation_id', key, (col) => col.notNull().references('conversations.id'))
    .addColumn('partner_id', key, (col) => col.notNull().references('partners.id'))
    // Read cursor: id of the last message this member consumed in this conversation.
    .addColumn('cursor', messageId, (col) => col.notNull().defaultTo(0))
    .addColumn('joined_at', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('members_pk', ['conversation_id', 'partner_id'])
    .execute();
  await db.schema.createIndex('members_by_partner').on('members').columns(['partner_id', 'conversation_id']).execute();

  await db.schema
    .createTable('messages')
    // SQLite's autoincrement never reuses an id; PostgreSQL's bigserial draws from a sequence.
    .addColumn('id', isPostgres(db) ? 'bigserial' : 'integer', (col) =>
      isPostgres(db) ? col.primaryKey() : col.primaryKey().autoIncrement(),
    )
    .addColumn('conversation_id', key, (col) => col.notNull().references('conversations.id'))
    .addColumn('sender', key, (col) => col.notNull().references('partners.id'))
    .addColumn('content', 'text', (col) => col.notNull())
    .addColumn('client_msg_id', 'text')
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addUniqueConstraint('messages_sender_client_msg_id', ['sender', 'client_msg_id'])
    .execute();
  await db.schema.createIndex('messages_by_conversation').on('messages').columns(['conversation_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['messages', 'members', 'conversations', 'partners']) {
    await db.schema.dropTable(table).execute();
  }
}
