/**
 * The only code that touches Kysely. Every query the broker runs is a method here, so the service
 * layer reads as operations, the same on SQLite and PostgreSQL. Messages come back in their wire
 * shape.
 *
 * On PostgreSQL several brokers may write at once. Every transaction first takes one advisory
 * lock, so transactions that store messages commit one after another and message ids are
 * assigned in commit order: a reader that has seen id N can never later find a smaller id
 * appear (which would slip under its cursor). SQLite has a single writer anyway.
 */
import { randomBytes } from 'node:crypto';
import { CompiledQuery, sql, type Compilable, type Kysely, type Transaction } from 'kysely';
import type { HistoryReply, Message } from '../shared/protocol.ts';
import type { Dialect } from './db.ts';
import { receiptsOf, type MemberProgress } from './receipts.ts';
import type { Database, ConversationRow, MessageRow, PartnerRow } from './schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** The advisory lock key of the write order ("duo" in ASCII, far from keys other software picks). */
const WRITE_ORDER_LOCK = 0x64756f;
/** The channel brokers of one PostgreSQL database tell each other about commits on. */
export const CLUSTER_CHANNEL = 'claude_duo';

/** Most values in one `IN (…)` list, well below SQLite's limit on bound parameters. */
const IN_LIST_MAX = 500;

export interface UnreadCount {
  conversationId: string;
  sender: string;
  count: number;
}

export interface ConversationListRow {
  id: string;
  kind: 'direct' | 'group';
  name: string;
  unread: number;
  lastMessageId: number | null;
  lastMessageAt: string | null;
}

/** A stored message as the wire carries it. */
export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    from: row.sender,
    content: row.content,
    createdAt: row.created_at,
  };
}

/** A value left open in a prepared query, filled in on every run. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A query built and compiled once per dialect, then run with new values. The broker's hottest
 * statements (one of each per message or per batch) skip Kysely's builder and compiler, which cost
 * more CPU than SQLite's own work on them. The SQL text is the same on every run, so SQLite's
 * statement cache keeps it prepared too.
 */
class Prepared<V extends Record<string, unknown>> {
  private readonly compiled = new Map<Dialect, CompiledQuery>();

  constructor(
    /** Builds the query with `slot(name)` wherever a value goes. */
    private readonly build: (db: Executor, slot: (name: keyof V & string) => never) => Compilable,
  ) {}

  bind(db: Executor, dialect: Dialect, values: V): CompiledQuery {
    let compiled = this.compiled.get(dialect);
    if (!compiled) {
      const slots: Slot[] = [];
      compiled = this.build(db, (name) => {
        slots.push(new Slot(name));
        return slots.at(-1) as never;
      }).compile();
      // Every slot must come out as a bound parameter, never inlined into the SQL text.
      if (slots.some((slot) => !compiled!.parameters.includes(slot)))
        throw new Error(`A prepared query inlined one of its values: ${compiled.sql}`);
      this.compiled.set(dialect, compiled);
    }
    return CompiledQuery.raw(
      compiled.sql,
      compiled.parameters.map((p) => (p instanceof Slot ? values[p.name] : p)),
    );
  }
}

const INSERT_MESSAGE = new Prepared<Omit<MessageRow, 'id'>>((db, slot) =>
  db
    .insertInto('messages')
    .values({
      conversation_id: slot('conversation_id'),
      sender: slot('sender'),
      content: slot('content'),
      client_msg_id: slot('client_msg_id'),
      created_at: slot('created_at'),
    })
    .returning('id'),
);

const FIND_BY_CLIENT_MSG_ID = new Prepared<{ sender: string; clientMsgId: string }>((db, slot) =>
  db
    .selectFrom('messages')
    .selectAll()
    .where('sender', '=', slot('sender'))
    .where('client_msg_id', '=', slot('clientMsgId')),
);

const RECORD_PUSHED = new Prepared<{ partnerId: string; upTo: number }>((db, slot) =>
  db
    .updateTable('partners')
    .set({ pushed_up_to: slot('upTo') })
    .where('id', '=', slot('partnerId'))
    .where('pushed_up_to', '<', slot('upTo')),
);

export class Store {
  constructor(
    private readonly db: Executor,
    readonly dialect: Dialect = 'sqlite',
  ) {}

  /**
   * Runs `work` in one transaction: everything in it commits together or not at all. (Every
   * transaction takes the lock, not only those storing messages: writers that never run at the
   * same time can never deadlock over the rows they update.)
   */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T> {
    return (this.db as Kysely<Database>).transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${WRITE_ORDER_LOCK})`.execute(trx);
      return work(new Store(trx, this.dialect));
    });
  }

  /** The key brokers of this database sign their notifications with, created by the first to ask. */
  async clusterKey(): Promise<string> {
    await this.db
      .insertInto('cluster_key')
      .values({ id: 1, secret: randomBytes(32).toString('base64url') })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const row = await this.db.selectFrom('cluster_key').select('secret').where('id', '=', 1).executeTakeFirstOrThrow();
    return row.secret;
  }

  /**
   * Tells every broker listening on the database (PostgreSQL only). Inside a transaction it is
   * delivered when, and only if, the transaction commits, in commit order.
   */
  async notify(payload: string): Promise<void> {
    if (this.dialect !== 'postgres') return;
    await sql`select pg_notify(${CLUSTER_CHANNEL}, ${payload})`.execute(this.db);
  }

  // ---------------------------------------------------------------- partners

  getPartner(id: string): Promise<PartnerRow | undefined> {
    return this.db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
  }

  getPartnerBySecretHash(secretHash: string): Promise<PartnerRow | undefined> {
    return this.db.selectFrom('partners').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
  }

  listPartners(): Promise<PartnerRow[]> {
    return this.db.selectFrom('partners').selectAll().orderBy('id').execute();
  }

  async insertPartner(row: PartnerRow): Promise<void> {
    await this.db.insertInto('partners').values(row).execute();
  }

  async updatePartner(
    id: string,
    changes: Partial<
      Pick<PartnerRow, 'name' | 'project_path' | 'status' | 'notifications' | 'pushed_up_to' | 'last_seen'>
    >,
  ): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await this.db.updateTable('partners').set(changes).where('id', '=', id).execute();
  }

  /**
   * Records partners as pushed up to an id each; never moves one back. Partners with the same id
   * (a group's members after one message) share one statement.
   */
  async recordPushed(pushes: ReadonlyMap<string, number>): Promise<void> {
    if (pushes.size === 1) {
      // The common case (one recipient per batch): a prepared statement.
      const [partnerId, upTo] = pushes.entries().next().value!;
      await this.db.executeQuery(RECORD_PUSHED.bind(this.db, this.dialect, { partnerId, upTo }));
      return;
    }
    const byId = new Map<number, string[]>();
    for (const [partnerId, upTo] of pushes) {
      const partners = byId.get(upTo);
      if (partners) partners.push(partnerId);
      else byId.set(upTo, [partnerId]);
    }
    for (const [upTo, partners] of byId) {
      for (let i = 0; i < partners.length; i += IN_LIST_MAX) {
        await this.db
          .updateTable('partners')
          .set({ pushed_up_to: upTo })
          .where('id', 'in', partners.slice(i, i + IN_LIST_MAX))
          .where('pushed_up_to', '<', upTo)
          .execute();
      }
    }
  }

  // ---------------------------------------------------------------- conversations and members

  allMemberships(): Promise<Array<{ conversation_id: string; partner_id: string }>> {
    return this.db.selectFrom('members').select(['conversation_id', 'partner_id']).execute();
  }

  /** The members of a conversation, or undefined when it does not exist. */
  async membersOf(conversationId: string): Promise<string[] | undefined> {
    const rows = await this.db
      .selectFrom('conversations as c')
      .leftJoin('members as me', 'me.conversation_id', 'c.id')
      .select('me.partner_id')
      .where('c.id', '=', conversationId)
      .execute();
    if (rows.length === 0) return undefined;
    return rows.map((r) => r.partner_id).filter((id): id is string => id !== null);
  }

  async insertConversation(row: ConversationRow, members: string[], cursor: number): Promise<void> {
    await this.db.insertInto('conversations').values(row).execute();
    await this.db
      .insertInto('members')
      .values(
        members.map((partnerId) => ({
          conversation_id: row.id,
          partner_id: partnerId,
          cursor,
          joined_at: row.created_at,
          joined_after: cursor,
        })),
      )
      .execute();
  }

  async addMember(conversationId: string, partnerId: string, cursor: number, joinedAt: string): Promise<void> {
    await this.db
      .insertInto('members')
      .values({
        conversation_id: conversationId,
        partner_id: partnerId,
        cursor,
        joined_at: joinedAt,
        joined_after: cursor,
      })
      .execute();
  }

  async removeMember(conversationId: string, partnerId: string): Promise<void> {
    await this.db
      .deleteFrom('members')
      .where('conversation_id', '=', conversationId)
      .where('partner_id', '=', partnerId)
      .execute();
  }

  /**
   * Moves a read cursor forward, never back, and never past the conversation's newest message.
   * Returns where it now stands, or 0 when it did not move.
   */
  async advanceCursor(conversationId: string, partnerId: string, upTo: number): Promise<number> {
    const newest = await this.maxMessageId(conversationId);
    const target = Math.min(upTo, newest);
    const result = await this.db
      .updateTable('members')
      .set({ cursor: target })
      .where('conversation_id', '=', conversationId)
      .where('partner_id', '=', partnerId)
      .where('cursor', '<', target)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? target : 0;
  }

  async maxMessageId(conversationId?: string): Promise<number> {
    let query = this.db.selectFrom('messages').select((eb) => eb.fn.max('id').as('max'));
    if (conversationId !== undefined) query = query.where('conversation_id', '=', conversationId);
    const row = await query.executeTakeFirst();
    return Number(row?.max ?? 0);
  }

  async conversationsFor(partnerId: string): Promise<ConversationListRow[]> {
    const rows = await this.db
      .selectFrom('members as me')
      .innerJoin('conversations as c', 'c.id', 'me.conversation_id')
      .where('me.partner_id', '=', partnerId)
      .select((eb) => [
        'c.id',
        'c.kind',
        'c.name',
        eb
          .selectFrom('messages as m')
          .whereRef('m.conversation_id', '=', 'c.id')
          .whereRef('m.id', '>', 'me.cursor')
          .where('m.sender', '!=', partnerId)
          .select((e) => e.fn.countAll<number>().as('n'))
          .as('unread'),
        eb
          .selectFrom('messages as m')
          .whereRef('m.conversation_id', '=', 'c.id')
          .select((e) => e.fn.max('m.id').as('x'))
          .as('lastMessageId'),
      ])
      .execute();
    const lastIds = rows.map((r) => r.lastMessageId).filter((id): id is number => id !== null);
    const times = new Map<number, string>();
    if (lastIds.length > 0) {
      const found = await this.db
        .selectFrom('messages')
        .select(['id', 'created_at'])
        .where('id', 'in', lastIds)
        .execute();
      for (const row of found) times.set(row.id, row.created_at);
    }
    return rows
      .map((r) => ({
        id: r.id,
        kind: r.kind,
        name: r.name,
        unread: Number(r.unread ?? 0),
        lastMessageId: r.lastMessageId === null ? null : Number(r.lastMessageId),
        lastMessageAt: r.lastMessageId === null ? null : (times.get(Number(r.lastMessageId)) ?? null),
      }))
      .sort((a, b) => (b.lastMessageId ?? 0) - (a.lastMessageId ?? 0) || a.id.localeCompare(b.id));
  }

  // ---------------------------------------------------------------- messages

  async findByClientMsgId(sender: string, clientMsgId: string): Promise<MessageRow | undefined> {
    const query = FIND_BY_CLIENT_MSG_ID.bind(this.db, this.dialect, { sender, clientMsgId });
    return (await this.db.executeQuery<MessageRow>(query)).rows[0];
  }

  async insertMessage(row: Omit<MessageRow, 'id'>): Promise<number> {
    const { rows } = await this.db.executeQuery<{ id: number }>(INSERT_MESSAGE.bind(this.db, this.dialect, row));
    return Number(rows[0]!.id);
  }

  /** The messages of `ids` that exist, in id order. */
  async messagesByIds(ids: readonly number[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const rows: MessageRow[] = [];
    for (let i = 0; i < ids.length; i += IN_LIST_MAX) {
      const slice = ids.slice(i, i + IN_LIST_MAX);
      rows.push(...(await this.db.selectFrom('messages').selectAll().where('id', 'in', slice).execute()));
    }
    return rows.sort((a, b) => a.id - b.id).map(toMessage);
  }

  /** The conversation of each of `ids` that exists. */
  messageConversations(ids: readonly number[]): Promise<Array<{ id: number; conversation_id: string }>> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('messages').select(['id', 'conversation_id']).where('id', 'in', ids).execute();
  }

  /**
   * Messages `partnerId` has not consumed: in its conversations, after its cursor, from someone
   * else, with id above `afterId`, oldest first.
   */
  async unreadFor(
    partnerId: string,
    options: { afterId: number; conversationId?: string | undefined; limit: number },
  ): Promise<Message[]> {
    let query = this.db
      .selectFrom('messages as m')
      .innerJoin('members as me', (join) =>
        join.onRef('me.conversation_id', '=', 'm.conversation_id').on('me.partner_id', '=', partnerId),
      )
      .selectAll('m')
      .whereRef('m.id', '>', 'me.cursor')
      .where('m.sender', '!=', partnerId)
      .where('m.id', '>', options.afterId);
    if (options.conversationId !== undefined) query = query.where('m.conversation_id', '=', options.conversationId);
    const rows = await query.orderBy('m.id').limit(options.limit).execute();
    return rows.map(toMessage);
  }

  async unreadCounts(partnerId: string): Promise<UnreadCount[]> {
    const rows = await this.db
      .selectFrom('messages as m')
      .innerJoin('members as me', (join) =>
        join.onRef('me.conversation_id', '=', 'm.conversation_id').on('me.partner_id', '=', partnerId),
      )
      .whereRef('m.id', '>', 'me.cursor')
      .where('m.sender', '!=', partnerId)
      .select([
        'm.conversation_id as conversationId',
        'm.sender as sender',
        (eb) => eb.fn.countAll<number>().as('count'),
      ])
      .groupBy(['m.conversation_id', 'm.sender'])
      .orderBy('m.conversation_id')
      .orderBy('m.sender')
      .execute();
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  /**
   * The newest `limit` messages before `before` (exclusive), oldest first, each with its delivery
   * receipts: two queries a page, whatever its size.
   */
  async history(
    conversationId: string,
    options: { limit: number; before?: number | undefined },
  ): Promise<HistoryReply> {
    let query = this.db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId);
    if (options.before !== undefined) query = query.where('id', '<', options.before);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(options.limit + 1)
      .execute();
    const hasMore = rows.length > options.limit;
    const page = rows.slice(0, options.limit).reverse().map(toMessage);
    const members = page.length === 0 ? [] : await this.memberProgress(conversationId);
    return { messages: page.map((message) => ({ ...message, receipts: receiptsOf(message, members) })), hasMore };
  }

  /** Each member of a conversation, in id order, with how far it read, joined and was pushed. */
  async memberProgress(conversationId: string): Promise<MemberProgress[]> {
    const rows = await this.db
      .selectFrom('members as me')
      .innerJoin('partners as p', 'p.id', 'me.partner_id')
      .select(['me.partner_id', 'me.cursor', 'me.joined_after', 'p.pushed_up_to'])
      .where('me.conversation_id', '=', conversationId)
      .orderBy('me.partner_id')
      .execute();
    return rows.map((r) => ({
      partnerId: r.partner_id,
      cursor: Number(r.cursor),
      joinedAfter: Number(r.joined_after),
      pushedUpTo: Number(r.pushed_up_to),
    }));
  }
}
