/**
 * The queries of the human's seat: human identities, console sessions, loop-guard holds, and the
 * owner's view across every conversation. Like store.ts (which it sits beside and does not
 * repeat), it is the only console code that touches Kysely. Every list it returns is bounded by
 * its caller's page size; the one full scan (conversation activity) reads one index entry per
 * conversation.
 */
import type { Kysely } from 'kysely';
import { UNREAD_COUNT_CAP } from '../../shared/console-limits.ts';
import type { MessageRow, PartnerRow } from '../schema.ts';
import type { ConsoleDatabase, ConsoleSessionRow, HoldRow, PartnerKind } from './schema.ts';

export interface ConversationActivity {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  lastMessageId: number | null;
}

export interface MemberUnread {
  conversationId: string;
  partnerId: string;
  unread: number;
}

export interface MessagePreview {
  id: number;
  sender: string;
  content: string;
  createdAt: string;
}

export type KindedPartner = PartnerRow & { kind: PartnerKind };

export class ConsoleStore {
  constructor(private readonly db: Kysely<ConsoleDatabase>) {}

  // ---------------------------------------------------------------- identities

  humanIds(): Promise<string[]> {
    return this.db
      .selectFrom('partners')
      .select('id')
      .where('kind', '=', 'human')
      .execute()
      .then((rows) => rows.map((r) => r.id));
  }

  partner(id: string): Promise<KindedPartner | undefined> {
    return this.db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertHuman(row: PartnerRow): Promise<void> {
    await this.db
      .insertInto('partners')
      .values({ ...row, kind: 'human' })
      .execute();
  }

  async renamePartner(id: string, name: string): Promise<void> {
    await this.db.updateTable('partners').set({ name }).where('id', '=', id).execute();
  }

  /** Partners in id order after `after`, at most `limit`. */
  partnersPage(after: string | undefined, limit: number): Promise<KindedPartner[]> {
    let query = this.db.selectFrom('partners').selectAll();
    if (after !== undefined) query = query.where('id', '>', after);
    return query.orderBy('id').limit(limit).execute();
  }

  // ---------------------------------------------------------------- console sessions

  async insertSession(row: ConsoleSessionRow): Promise<void> {
    await this.db.insertInto('console_sessions').values(row).execute();
  }

  findSession(tokenHash: string): Promise<ConsoleSessionRow | undefined> {
    return this.db.selectFrom('console_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('token_hash', '=', tokenHash).execute();
  }

  async deleteExpiredSessions(nowIso: string): Promise<void> {
    await this.db.deleteFrom('console_sessions').where('expires_at', '<=', nowIso).execute();
  }

  // ---------------------------------------------------------------- holds

  allHolds(): Promise<HoldRow[]> {
    return this.db.selectFrom('holds').selectAll().execute();
  }

  async putHold(row: HoldRow): Promise<void> {
    await this.db
      .insertInto('holds')
      .values(row)
      .onConflict((oc) => oc.column('conversation_id').doUpdateSet(row))
      .execute();
  }

  async deleteHold(conversationId: string): Promise<void> {
    await this.db.deleteFrom('holds').where('conversation_id', '=', conversationId).execute();
  }

  // ---------------------------------------------------------------- the owner's view

  /** Every conversation with its newest message id: one index lookup each. */
  conversationActivity(): Promise<ConversationActivity[]> {
    return this.activity();
  }

  /** One conversation with its newest message id, if it exists. */
  async conversation(id: string): Promise<ConversationActivity | undefined> {
    const [row] = await this.activity(id);
    return row;
  }

  private async activity(only?: string): Promise<ConversationActivity[]> {
    let query = this.db.selectFrom('conversations as c').select((eb) => [
      'c.id',
      'c.kind',
      'c.name',
      eb
        .selectFrom('messages as m')
        .whereRef('m.conversation_id', '=', 'c.id')
        .select((e) => e.fn.max('m.id').as('x'))
        .as('lastMessageId'),
    ]);
    if (only !== undefined) query = query.where('c.id', '=', only);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      name: r.name,
      lastMessageId: r.lastMessageId === null ? null : Number(r.lastMessageId),
    }));
  }

  /** Each member of the given conversations with its unread count (at most UNREAD_COUNT_CAP). */
  async membersWithUnread(conversationIds: string[]): Promise<MemberUnread[]> {
    if (conversationIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('members as me')
      .where('me.conversation_id', 'in', conversationIds)
      .select((eb) => [
        'me.conversation_id as conversationId',
        'me.partner_id as partnerId',
        // Counted up to the cap: an exact count of a huge backlog would read all of it.
        eb
          .selectFrom(
            eb
              .selectFrom('messages as m')
              .whereRef('m.conversation_id', '=', 'me.conversation_id')
              .whereRef('m.id', '>', 'me.cursor')
              .whereRef('m.sender', '!=', 'me.partner_id')
              .select('m.id')
              .limit(UNREAD_COUNT_CAP)
              .as('waiting'),
          )
          .select((e) => e.fn.countAll<number>().as('n'))
          .as('unread'),
      ])
      .orderBy('me.partner_id')
      .execute();
    return rows.map((r) => ({
      conversationId: r.conversationId,
      partnerId: r.partnerId,
      unread: Number(r.unread ?? 0),
    }));
  }

  /** The given messages with their text cut to `chars` characters. */
  async previews(ids: number[], chars: number): Promise<MessagePreview[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom('messages')
      .select((eb) => [
        'id',
        'sender',
        'created_at as createdAt',
        eb.fn<string>('substr', ['content', eb.val(1), eb.val(chars)]).as('content'),
      ])
      .where('id', 'in', ids)
      .execute();
  }

  /** Committed messages of every conversation above `afterId`, in id order. */
  messagesAfter(afterId: number, limit: number): Promise<MessageRow[]> {
    return this.db.selectFrom('messages').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  }

  conversationIdsOf(partnerId: string): Promise<string[]> {
    return this.db
      .selectFrom('members')
      .select('conversation_id')
      .where('partner_id', '=', partnerId)
      .execute()
      .then((rows) => rows.map((r) => r.conversation_id));
  }
}
