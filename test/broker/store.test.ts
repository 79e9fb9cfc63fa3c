/**
 * The store's prepared statements: a message stored and found again, pushes recorded forward
 * only; and the migration that gives existing members the id they joined after.
 */
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as receiptsMigration from '../../migrations/004_receipts.ts';
import { Store } from '../../src/broker/store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { register } from '../helpers/clients.ts';

let broker: TestBroker;
let store: Store;
const at = '2026-01-01T00:00:00.000Z';

beforeEach(async () => {
  broker = await startBroker();
  await register(broker.url, 'alice');
  await register(broker.url, 'bob');
  await register(broker.url, 'carol');
  const { db, dialect } = broker.broker.database;
  store = new Store(db, dialect);
  await store.insertConversation(
    { id: 'direct:alice:bob', kind: 'direct', name: 'alice & bob', created_by: 'alice', created_at: at },
    ['alice', 'bob'],
    0,
  );
});
afterEach(async () => broker.close());

const pushedUpTo = async (id: string) => (await store.getPartner(id))?.pushed_up_to;

describe('store', () => {
  it('stores messages with new ids each time and finds one by its clientMsgId, for its sender only', async () => {
    const row = { conversation_id: 'direct:alice:bob', sender: 'alice', created_at: at };
    const first = await store.insertMessage({ ...row, content: 'one', client_msg_id: 'c1' });
    const second = await store.transaction((tx) => tx.insertMessage({ ...row, content: 'two', client_msg_id: null }));
    expect(second).toBeGreaterThan(first);

    expect(await store.findByClientMsgId('alice', 'c1')).toMatchObject({ id: first, content: 'one' });
    expect(await store.findByClientMsgId('bob', 'c1')).toBeUndefined();
    expect(await store.findByClientMsgId('alice', 'c2')).toBeUndefined();
  });

  it('records pushes forward only, for one partner or several', async () => {
    await store.recordPushed(new Map([['bob', 7]]));
    await store.transaction((tx) => tx.recordPushed(new Map([['bob', 5]])));
    expect(await pushedUpTo('bob')).toBe(7);

    await store.recordPushed(
      new Map([
        ['bob', 9],
        ['carol', 4],
        ['alice', 9],
      ]),
    );
    expect([await pushedUpTo('alice'), await pushedUpTo('bob'), await pushedUpTo('carol')]).toEqual([9, 9, 4]);
  });

  it('gives members from before the receipts migration the newest message stored no later than they joined', async () => {
    const time = (n: number) => `2026-01-01T00:00:0${n}.000Z`;
    await store.insertConversation(
      { id: 'group_0123456789abcdef0123', kind: 'group', name: 'g', created_by: 'alice', created_at: time(0) },
      ['alice', 'bob'],
      0,
    );
    const row = { conversation_id: 'group_0123456789abcdef0123', sender: 'alice', client_msg_id: null };
    await store.insertMessage({ ...row, content: 'one', created_at: time(1) });
    const second = await store.insertMessage({ ...row, content: 'two', created_at: time(2) });
    // carol joined in the same millisecond as the second message: it counts as before her.
    await store.addMember('group_0123456789abcdef0123', 'carol', 0, time(2));
    await store.insertMessage({ ...row, content: 'three', created_at: time(3) });
    // A direct conversation is created with its first message, in the same millisecond: both of
    // its members are recipients of that message.
    await store.insertConversation(
      { id: 'direct:bob:carol', kind: 'direct', name: 'bob & carol', created_by: 'bob', created_at: time(4) },
      ['bob', 'carol'],
      0,
    );
    await store.insertMessage({
      conversation_id: 'direct:bob:carol',
      sender: 'bob',
      client_msg_id: null,
      content: 'hi',
      created_at: time(4),
    });

    const db = broker.broker.database.db as unknown as Kysely<unknown>;
    await receiptsMigration.down(db);
    await receiptsMigration.up(db);

    const joined = await broker.broker.database.db
      .selectFrom('members')
      .select(['conversation_id', 'partner_id', 'joined_after'])
      .orderBy('conversation_id')
      .orderBy('partner_id')
      .execute();
    expect(joined.map((m) => [m.conversation_id, m.partner_id, Number(m.joined_after)])).toEqual([
      ['direct:alice:bob', 'alice', 0],
      ['direct:alice:bob', 'bob', 0],
      ['direct:bob:carol', 'bob', 0],
      ['direct:bob:carol', 'carol', 0],
      ['group_0123456789abcdef0123', 'alice', 0],
      ['group_0123456789abcdef0123', 'bob', 0],
      ['group_0123456789abcdef0123', 'carol', second],
    ]);
  });
});
