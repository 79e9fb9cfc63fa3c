/** REST long-poll: waiting, consuming, peeking, and claims that keep one message in one response. */
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, startBrokerProcess, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, register, talk, type Registered } from '../helpers/clients.ts';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function keepAliveGet(port: number, path: string, secret: string): Promise<{ body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${secret}` } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let broker: TestBroker;
let alice: Registered;
let bob: Registered;
let carol: Registered;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob', { name: 'Bob the builder' });
  carol = await register(broker.url, 'carol');
});
afterEach(async () => broker.close());

describe('listen', () => {
  it('wakes a waiting long-poll as soon as a message commits', async () => {
    const started = Date.now();
    const waiting = api(broker.url, 'GET', '/listen/bob?timeout=10', { secret: bob.secret });
    await new Promise((r) => setTimeout(r, 100));
    await talk(broker.url, alice, { to: 'bob', content: 'wake up' });
    const heard = await waiting;
    expect(heard.body.messages.map((m: { content: string }) => m.content)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('returns an empty list when the timeout passes', async () => {
    const heard = await api(broker.url, 'GET', '/listen/bob?timeout=1', { secret: bob.secret });
    expect(heard.status).toBe(200);
    expect(heard.body).toEqual({ messages: [], cursor: 'v1' });
  });

  it('consumes what it returned, while peek consumes nothing', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'one' });
    const peeked = await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret });
    expect(peeked.body.messages).toHaveLength(1);
    const read = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    expect(read.body.messages).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    const after = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    expect(after.body.messages).toEqual([]);
  });

  it('holds back newer messages of a conversation while an older one is claimed, so an undelivered response loses nothing', async () => {
    const service = broker.broker.service;
    await talk(broker.url, alice, { to: 'bob', content: 'm1' });
    const first = await service.longPoll.waitForUnread('bob', { timeoutMs: 0, limit: 10 });
    expect(first.messages.map((m) => m.content)).toEqual(['m1']);
    await talk(broker.url, alice, { to: 'bob', content: 'm2' });
    // Another listen meanwhile gets nothing from that conversation: committing m2 would mark m1 read.
    const second = await service.longPoll.waitForUnread('bob', { timeoutMs: 0, limit: 10 });
    expect(second.messages).toEqual([]);
    // The first response never reached its client: both messages are still there.
    first.claim!.release();
    const third = await service.longPoll.waitForUnread('bob', { timeoutMs: 0, limit: 10 });
    expect(third.messages.map((m) => m.content)).toEqual(['m1', 'm2']);
    await third.claim!.commit();
    expect((await service.longPoll.waitForUnread('bob', { timeoutMs: 0, limit: 10 })).messages).toEqual([]);
  });

  it('wakes a waiting long-poll when a claim on its conversation ends', async () => {
    const service = broker.broker.service;
    await talk(broker.url, alice, { to: 'bob', content: 'm1' });
    const first = await service.longPoll.waitForUnread('bob', { timeoutMs: 0, limit: 10 });
    const waiting = service.longPoll.waitForUnread('bob', { timeoutMs: 5_000, limit: 10 });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    first.claim!.release();
    expect((await waiting).messages.map((m) => m.content)).toEqual(['m1']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives a message to only one of two concurrent long-polls', async () => {
    const one = api(broker.url, 'GET', '/listen/bob?timeout=2', { secret: bob.secret });
    const two = api(broker.url, 'GET', '/listen/bob?timeout=2', { secret: bob.secret });
    await new Promise((r) => setTimeout(r, 100));
    await talk(broker.url, alice, { to: 'bob', content: 'only once' });
    const [a, b] = await Promise.all([one, two]);
    expect([...a.body.messages, ...b.body.messages]).toHaveLength(1);
  });

  it('filters listen by conversation', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'from alice' });
    await talk(broker.url, carol, { to: 'bob', content: 'from carol' });
    const heard = await api(broker.url, 'GET', '/listen/bob?timeout=0&conversationId=direct:bob:carol', {
      secret: bob.secret,
    });
    expect(heard.body.messages.map((m: { from: string }) => m.from)).toEqual(['carol']);
    const rest = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    expect(rest.body.messages.map((m: { from: string }) => m.from)).toEqual(['alice']);
  });

  it('peeks only above a message id, and a waiting peek skips what is not above it', async () => {
    const first = await talk(broker.url, alice, { to: 'bob', content: 'skipped' });
    const skip = first.body.messageId;
    const now = await api(broker.url, 'GET', `/listen/bob?timeout=0&peek=1&above=${skip}`, { secret: bob.secret });
    expect(now.body).toEqual({ messages: [], cursor: 'v1' });

    // Waiting above the unread message: it is not answered at once with it, only with the next.
    const waiting = api(broker.url, 'GET', `/listen/bob?timeout=10&peek=1&above=${skip}`, { secret: bob.secret });
    await new Promise((r) => setTimeout(r, 100));
    await talk(broker.url, carol, { to: 'bob', content: 'above' });
    const heard = await waiting;
    expect(heard.body.messages.map((m: { content: string }) => m.content)).toEqual(['above']);

    // Peeking consumed nothing: both are still unread.
    const all = await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret });
    expect(all.body.messages.map((m: { content: string }) => m.content)).toEqual(['skipped', 'above']);
  });

  it('refuses "above" on a listen that marks read, and an "above" that is not an id', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'kept' });
    const consuming = await api(broker.url, 'GET', '/listen/bob?timeout=0&above=0', { secret: bob.secret });
    expect(consuming.status).toBe(400);
    expect(consuming.body.error).toMatch(/"above" only works with peek=1/);
    const bad = await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1&above=-1', { secret: bob.secret });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/above must be a message id/);
    const unread = await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret });
    expect(unread.body.messages).toHaveLength(1);
  });
});

describe('listen against a broker process', () => {
  it('never hands a message to the next long-poll while the previous one is still marking it read', async () => {
    // A broker in its own process, as in real use: in-process, the test's own requests could not
    // overtake the broker's pending cursor write.
    const dir = tempDir();
    const child = await startBrokerProcess({ dbPath: join(dir, 'duo.db') });
    const alice = await register(child.url, 'alice');
    const bob = await register(child.url, 'bob');
    try {
      for (let round = 0; round < 30; round++) {
        const parked = keepAliveGet(child.port, '/listen/bob?timeout=10', bob.secret);
        await new Promise((r) => setTimeout(r, 5));
        const sending = talk(child.url, alice, { to: 'bob', content: `m${round}` });
        const first = await parked;
        // Straight away on the same connection, as a client looping on listen does: the previous
        // cursor may not be written yet.
        const next = await keepAliveGet(child.port, '/listen/bob?timeout=0', bob.secret);
        await sending;
        const contents = [...first.body.messages, ...next.body.messages].map((m: { content: string }) => m.content);
        expect(contents, `round ${round}`).toEqual([`m${round}`]);
      }
    } finally {
      await child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
