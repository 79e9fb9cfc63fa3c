/**
 * The /listen cursor: every response carries one, and `after=<cursor>` marks read exactly what
 * that response returned (nothing else, in any conversation) before reading on. Peeking keeps
 * the listens themselves from consuming, so what moves the read state here is `after` alone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/shared/listen-cursor.ts';
import { MAX_LISTEN_LIMIT } from '../../src/shared/limits.ts';
import type { Message } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;
let carol: Registered;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
  carol = await register(broker.url, 'carol');
});
afterEach(async () => broker.close());

function listen(who: Registered, query: string) {
  return api(broker.url, 'GET', `/listen/${who.partnerId}?timeout=0&${query}`, { secret: who.secret });
}
const contents = (reply: { body: { messages: Message[] } }) => reply.body.messages.map((m) => m.content);

describe('the cursor', () => {
  it('names the highest id per conversation, and reads back as those ids', () => {
    const at = (id: number, conversationId: string) => ({ id, conversationId, from: 'x', content: '', createdAt: '' });
    const cursor = encodeCursor([at(41, 'direct:a:b'), at(44, 'group_1'), at(43, 'direct:a:b'), at(40, 'group_1')]);
    expect(decodeCursor(cursor)).toEqual([43, 44]);
    expect(decodeCursor(encodeCursor([]))).toEqual([]);
    expect(decodeCursor(encodeCursor([at(Number.MAX_SAFE_INTEGER, 'group_1')]))).toEqual([Number.MAX_SAFE_INTEGER]);
  });

  it('refuses, with a 400 that says what to send, anything the broker could not have written', async () => {
    const tooMany = `v1${'.1'.repeat(MAX_LISTEN_LIMIT + 1)}`;
    for (const after of [
      '',
      'v2.1',
      'v1.',
      'v1.-1',
      'v1.A',
      'v1.1.zzzzzzzzzzzz',
      'v1.zzzzzzzzzzz.zzzzzzzzzzz',
      tooMany,
    ]) {
      const reply = await listen(bob, `after=${encodeURIComponent(after)}`);
      expect(reply.status, after.slice(0, 40)).toBe(400);
      expect(reply.body.code).toBe('bad_request');
      expect(reply.body.error).toMatch(/"cursor" of the previous \/listen response/);
    }
  });
});

describe('listen with after', () => {
  it('marks read exactly what the earlier response returned, in no other conversation, then returns the rest', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'a1' });
    await talk(broker.url, carol, { to: 'bob', content: 'c1' });
    await talk(broker.url, alice, { to: 'bob', content: 'a2' });
    const first = await listen(bob, 'peek=1&conversationId=direct:alice:bob');
    expect(contents(first)).toEqual(['a1', 'a2']);
    expect(typeof first.body.cursor).toBe('string');
    await talk(broker.url, alice, { to: 'bob', content: 'a3' });

    const second = await listen(bob, `peek=1&after=${first.body.cursor}`);
    // a1 and a2 are read now; carol's c1 and the newer a3 were never returned, so they stay.
    expect(contents(second)).toEqual(['c1', 'a3']);
    const unread = await api(broker.url, 'GET', '/conversations/bob', { secret: bob.secret });
    expect(
      Object.fromEntries(unread.body.conversations.map((c: { id: string; unread: number }) => [c.id, c.unread])),
    ).toEqual({ 'direct:alice:bob': 1, 'direct:bob:carol': 1 });

    // The same cursor again, or an older one, changes nothing.
    expect(contents(await listen(bob, `peek=1&after=${first.body.cursor}`))).toEqual(['c1', 'a3']);
    expect(contents(await listen(bob, `peek=1&after=v1`))).toEqual(['c1', 'a3']);
    // Echoing the second response's cursor reads the rest.
    expect(contents(await listen(bob, `peek=1&after=${second.body.cursor}`))).toEqual([]);
  });

  it('ignores ids of conversations the partner is not in, and ids that do not exist', async () => {
    await talk(broker.url, alice, { to: 'carol', content: 'not for bob' });
    const carols = await listen(carol, 'peek=1');
    expect(contents(carols)).toEqual(['not for bob']);
    // Bob presents carol's cursor, and one naming a message that does not exist.
    expect((await listen(bob, `after=${carols.body.cursor}`)).status).toBe(200);
    expect((await listen(bob, `after=v1.zzzzzz`)).status).toBe(200);
    expect(contents(await listen(carol, 'peek=1'))).toEqual(['not for bob']);
  });

  it('also works without peek: the response still consumes what it returns, as before', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'a1' });
    const first = await listen(bob, '');
    expect(contents(first)).toEqual(['a1']);
    await talk(broker.url, alice, { to: 'bob', content: 'a2' });
    expect(contents(await listen(bob, `after=${first.body.cursor}`))).toEqual(['a2']);
  });
});

describe('the read frame', () => {
  it('tells the live session of the partner when another client of it moved its cursor, and only then', async () => {
    const bobWs = await connect(broker.url, bob);
    const first = await talk(broker.url, alice, { to: 'bob', content: 'one' });
    await talk(broker.url, alice, { to: 'bob', content: 'two' });
    await bobWs.until((c) => c.messages().length === 2, 5_000, 'two pushes');
    // A peek moves nothing: no read frame.
    const peeked = await listen(bob, 'peek=1&limit=1');
    expect(contents(peeked)).toEqual(['one']);
    // Echoing its cursor marks exactly that message read, and the session hears of it.
    await listen(bob, `peek=1&after=${peeked.body.cursor}`);
    const read = await bobWs.frame('read');
    expect(read).toEqual({ type: 'read', conversationId: 'direct:alice:bob', upTo: first.body.messageId });
    expect(bobWs.frames.filter((f) => f.type === 'read')).toHaveLength(1);
    // Someone else's cursor is nobody else's business.
    const aliceWs = await connect(broker.url, alice);
    await listen(bob, 'limit=5');
    await bobWs.until((c) => c.frames.filter((f) => f.type === 'read').length === 2, 5_000, 'a second read frame');
    await new Promise((r) => setTimeout(r, 100));
    expect(aliceWs.frames.filter((f) => f.type === 'read')).toHaveLength(0);
    // An ack past the newest message says where the cursor really stands.
    const third = await talk(broker.url, alice, { to: 'bob', content: 'three' });
    bobWs.send({ type: 'ack', conversationId: 'direct:alice:bob', upTo: 1_000_000 });
    const clamped = await bobWs.frame('read', (f) => f.upTo >= third.body.messageId);
    expect(clamped.upTo).toBe(third.body.messageId);
    bobWs.close();
    aliceWs.close();
  });
});
