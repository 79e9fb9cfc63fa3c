import { type Kysely, sql } from 'kysely';
import { messageIdInteger } from './columns.ts';

/**
 * Delivery receipts: a member is a recipient only of the messages stored after it joined. The
 * cursor cannot tell (a new member's cursor starts at the newest id and then moves), so the id
 * it started at is kept: `joined_after`, the newest message id when the member was added.
 *
 * Members of groups from before this migration get theirs from the times they have: the newest
 * message of the group stored no later than the member joined. (Only here are times compared;
 * both were written by the broker's clock. A message in the same millisecond as the join counts
 * as before it: a receipt left out is better than one that claims a member saw what came before
 * it.) Both members of a direct conversation are there from its first message, which is created
 * in the same millisecond: they keep 0.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('members')
    .addColumn('joined_after', messageIdInteger(db), (col) => col.notNull().defaultTo(0))
    .execute();
  await sql`
    update members set joined_after = coalesce(
      (select max(m.id) from messages m
        where m.conversation_id = members.conversation_id and m.created_at <= members.joined_at),
      0)
    where conversation_id in (select id from conversations where kind = 'group')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('members').dropColumn('joined_after').execute();
}
