/**
 * A conversation that does not exist, or that the caller is not in, is an error at every entry
 * point that names one: 404 unknown_conversation or 403 not_member, never an empty success.
 */
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered, type WsClient } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let carol: Registered;
let group: string;

beforeAll(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  await register(broker.url, 'bob');
  carol = await register(broker.url, 'carol');
  await talk(broker.url, alice, { to: 'bob', content: 'between alice and bob' });
  const created = await api(broker.url, 'POST', '/conversations', {
    secret: alice.secret,
    body: { name: 'Backend', participants: ['bob'] },
  });
  group = created.body.conversation.id;
});
afterAll(async () => broker.close());

/** Each case: who asks, about which conversation, and the code they must get. */
const cases = () => [
  { what: 'a group that does not exist', who: carol, id: 'group_000000', code: 'unknown_conversation', status: 404 },
  {
    what: 'a direct conversation of theirs not started yet',
    who: carol,
    id: 'direct:alice:carol',
    code: 'unknown_conversation',
    status: 404,
  },
  { what: "someone else's direct conversation", who: carol, id: 'direct:alice:bob', code: 'not_member', status: 403 },
  { what: 'a group they are not in', who: carol, id: group, code: 'not_member', status: 403 },
];

describe('over REST', () => {
  it('talk refuses', async () => {
    for (const c of cases()) {
      const reply = await talk(broker.url, c.who, { conversationId: c.id, content: 'x' });
      expect([reply.status, reply.body.code], c.what).toEqual([c.status, c.code]);
    }
  });

  it('listen refuses, peeking or not', async () => {
    for (const c of cases()) {
      for (const peek of ['0', '1']) {
        const reply = await api(broker.url, 'GET', `/listen/carol?timeout=0&peek=${peek}&conversationId=${c.id}`, {
          secret: c.who.secret,
        });
        expect([reply.status, reply.body.code], c.what).toEqual([c.status, c.code]);
      }
    }
  });

  it('history refuses', async () => {
    for (const c of cases()) {
      const reply = await api(broker.url, 'GET', `/conversations/${c.id}/messages`, { secret: c.who.secret });
      expect([reply.status, reply.body.code], c.what).toEqual([c.status, c.code]);
    }
  });

  it('leave refuses', async () => {
    for (const c of cases()) {
      const reply = await api(broker.url, 'POST', `/conversations/${c.id}/leave`, { secret: c.who.secret });
      expect([reply.status, reply.body.code], c.what).toEqual([c.status, c.code]);
    }
  });
});

describe('over WebSocket', () => {
  let socket: WsClient | undefined;
  afterEach(() => socket?.close());

  it('talk and ack answer with an error frame carrying the ref', async () => {
    socket = await connect(broker.url, carol);
    for (const [i, c] of cases().entries()) {
      socket.send({ type: 'talk', ref: `t${i}`, conversationId: c.id, content: 'x' });
      socket.send({ type: 'ack', ref: `a${i}`, conversationId: c.id, upTo: 1 });
      expect((await socket.frame('error', (f) => f.ref === `t${i}`)).code, c.what).toBe(c.code);
      expect((await socket.frame('error', (f) => f.ref === `a${i}`)).code, c.what).toBe(c.code);
    }
  });
});
