/**
 * Delivery receipts in history: per recipient, stored → pushed (a live WebSocket session was
 * handed it) → seen (the read cursor reached it). REST readers go from stored to seen when a
 * consuming /listen response is written; a peek changes nothing until its cursor is echoed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_GROUP_MEMBERS, MAX_GROUP_SIZE } from '../../src/shared/limits.ts';
import { HistoryReply, type Receipts } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered, type WsClient } from '../helpers/clients.ts';
import { watchAsOwner } from '../helpers/console.ts';
import { waitFor } from '../helpers/scale.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;
let carol: Registered;
let dave: Registered;
const sockets: WsClient[] = [];

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
  carol = await register(broker.url, 'carol');
  dave = await register(broker.url, 'dave');
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await broker.close();
});

async function history(who: Registered, conversationId: string): Promise<HistoryReply> {
  const reply = await api(broker.url, 'GET', `/conversations/${conversationId}/messages`, { secret: who.secret });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return HistoryReply.parse(reply.body);
}

/** The receipts of message `id` as `who` reads them. */
async function receipts(who: Registered, conversationId: string, id: number): Promise<Receipts> {
  const found = (await history(who, conversationId)).messages.find((m) => m.id === id);
  if (!found) throw new Error(`message ${id} is not in the history of ${conversationId}`);
  return found.receipts;
}

async function send(from: Registered, body: Record<string, unknown>): Promise<number> {
  const reply = await talk(broker.url, from, body);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.messageId as number;
}

async function online(who: Registered): Promise<WsClient> {
  const socket = await connect(broker.url, who);
  sockets.push(socket);
  return socket;
}

async function listen(who: Registered, query: string) {
  const reply = await api(broker.url, 'GET', `/listen/${who.partnerId}?timeout=0&${query}`, { secret: who.secret });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { messages: Array<{ id: number }>; cursor: string };
}

describe('delivery receipts in history', () => {
  it('go stored → pushed when a WebSocket session is handed the message → seen after its ack', async () => {
    const first = await send(alice, { to: 'bob', content: 'while you were away' });
    // Both members read the same receipts; the sender is never its own recipient.
    expect(await receipts(alice, 'direct:alice:bob', first)).toEqual({ bob: 'stored' });
    expect(await receipts(bob, 'direct:alice:bob', first)).toEqual({ bob: 'stored' });

    // The replay after hello records the push before the frame goes out.
    const socket = await online(bob);
    await socket.until((c) => c.messages().some((m) => m.id === first), 5000, 'the replayed message');
    expect(await receipts(alice, 'direct:alice:bob', first)).toEqual({ bob: 'pushed' });

    // A live push is recorded with the send's own commit: pushed as soon as the send is answered.
    const second = await send(alice, { to: 'bob', content: 'and now' });
    expect(await receipts(alice, 'direct:alice:bob', second)).toEqual({ bob: 'pushed' });

    socket.send({ type: 'ack', conversationId: 'direct:alice:bob', upTo: first });
    await waitFor(
      async () => (await receipts(alice, 'direct:alice:bob', first)).bob === 'seen',
      5000,
      'the ack to show as seen',
    );
    expect(await receipts(alice, 'direct:alice:bob', second)).toEqual({ bob: 'pushed' });

    // bob's reply carries alice's receipt; alice is offline.
    const reply = await send(bob, { to: 'alice', content: 'got it' });
    const page = await history(alice, 'direct:alice:bob');
    expect(page.messages.map((m) => [m.from, m.receipts])).toEqual([
      ['alice', { bob: 'seen' }],
      ['alice', { bob: 'pushed' }],
      ['bob', { alice: 'stored' }],
    ]);
    expect(page.messages.at(-1)!.id).toBe(reply);
  });

  it('go stored → seen for a REST reader: a peek changes nothing until its cursor is echoed', async () => {
    const id = await send(alice, { to: 'carol', content: 'polling?' });
    const peeked = await listen(carol, 'peek=1');
    expect(peeked.messages.map((m) => m.id)).toEqual([id]);
    expect(await receipts(alice, 'direct:alice:carol', id)).toEqual({ carol: 'stored' });

    await listen(carol, `peek=1&after=${peeked.cursor}`);
    expect(await receipts(alice, 'direct:alice:carol', id)).toEqual({ carol: 'seen' });

    // A consuming listen counts once its response was written.
    const next = await send(alice, { to: 'carol', content: 'again' });
    expect((await listen(carol, '')).messages.map((m) => m.id)).toEqual([next]);
    await waitFor(
      async () => (await receipts(alice, 'direct:alice:carol', next)).carol === 'seen',
      5000,
      'the written response to count as seen',
    );
  });

  it('in a group, list every recipient with its own state, in id order', async () => {
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Team', participants: ['bob', 'carol', 'dave'] },
    });
    const group = created.body.conversation.id as string;
    await online(bob);
    const id = await send(alice, { conversationId: group, content: 'standup' });
    await listen(dave, '');
    await waitFor(async () => (await receipts(alice, group, id)).dave === 'seen', 5000, 'dave to have seen it');
    expect(await receipts(alice, group, id)).toEqual({ bob: 'pushed', carol: 'stored', dave: 'seen' });
    expect(Object.keys(await receipts(carol, group, id))).toEqual(['bob', 'carol', 'dave']);

    // carol's own message lists alice as a recipient, and not carol.
    const fromCarol = await send(carol, { conversationId: group, content: 'late' });
    expect(await receipts(alice, group, fromCarol)).toEqual({ alice: 'stored', bob: 'pushed', dave: 'stored' });
  });

  it('leave out members who left, and members who joined after the message was stored', async () => {
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Team', participants: ['bob', 'carol'] },
    });
    const group = created.body.conversation.id as string;
    const before = await send(alice, { conversationId: group, content: 'before dave' });
    await broker.broker.service.conversations.join('dave', group);
    const after = await send(alice, { conversationId: group, content: 'after dave' });
    const left = await api(broker.url, 'POST', `/conversations/${group}/leave`, { secret: carol.secret });
    expect(left.status).toBe(200);

    const page = await history(dave, group);
    expect(page.messages.map((m) => [m.id, m.receipts])).toEqual([
      [before, { bob: 'stored' }],
      [after, { bob: 'stored', dave: 'stored' }],
    ]);
  });

  it('never outnumber a full group: a group takes no one past MAX_GROUP_MEMBERS', async () => {
    const participants = ['bob', 'carol', 'dave'];
    for (let i = participants.length; i < MAX_GROUP_SIZE; i++) {
      participants.push((await register(broker.url, `p${i}`)).partnerId);
    }
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Everyone', participants },
    });
    expect(created.body.conversation.members).toHaveLength(MAX_GROUP_MEMBERS);
    const group = created.body.conversation.id as string;
    const id = await send(alice, { conversationId: group, content: 'all hands' });
    expect(Object.keys(await receipts(alice, group, id))).toHaveLength(MAX_GROUP_MEMBERS - 1);

    await register(broker.url, 'late');
    await expect(broker.broker.service.conversations.join('late', group)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('is full'),
    });
  });

  it('reach the watch stream as they change: a push recorded, a read cursor moved', async () => {
    const watcher = await watchAsOwner(broker);
    try {
      const socket = await online(bob);
      const id = await send(alice, { to: 'bob', content: 'watch this' });
      await watcher.until(
        (w) => w.frames.some((f) => f.type === 'pushed' && f.partnerId === 'bob' && f.upTo >= id),
        'a pushed frame for bob',
      );
      socket.send({ type: 'ack', conversationId: 'direct:alice:bob', upTo: id });
      await watcher.until((w) => w.frames.some((f) => f.type === 'read'), 'a read frame');
      expect(watcher.frames.filter((f) => f.type === 'read')).toEqual([
        { type: 'read', conversationId: 'direct:alice:bob', partnerId: 'bob', upTo: id },
      ]);
    } finally {
      watcher.close();
    }
  });

  it('are for members only: a non-member cannot read them', async () => {
    await send(alice, { to: 'bob', content: 'private' });
    const outsider = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', {
      secret: carol.secret,
    });
    expect(outsider.status).toBe(403);
    expect(outsider.body.code).toBe('not_member');
    expect(JSON.stringify(outsider.body)).not.toContain('receipts');
  });
});
