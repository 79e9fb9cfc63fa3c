import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConversationsReply,
  HistoryReply,
  ListenReply,
  PartnersReply,
  RegisterReply,
  TalkReply,
} from '../../src/shared/protocol.ts';
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

describe('register', () => {
  it('returns a secret only the first time, and the stored name sticks', async () => {
    const first = await api(broker.url, 'POST', '/register', { body: { partnerId: 'dave', name: 'Dave' } });
    expect(first.status).toBe(200);
    const reply = RegisterReply.parse(first.body);
    expect(reply).toMatchObject({ partnerId: 'dave', name: 'Dave', created: true });
    expect(reply.secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    const again = await api(broker.url, 'POST', '/register', { secret: reply.secret!, body: { partnerId: 'dave' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ partnerId: 'dave', name: 'Dave', created: false });
  });

  it('answers 409 id_taken to a second project claiming the same id', async () => {
    const noSecret = await api(broker.url, 'POST', '/register', { body: { partnerId: 'alice' } });
    expect(noSecret.status).toBe(409);
    expect(noSecret.body.code).toBe('id_taken');
    const wrong = await api(broker.url, 'POST', '/register', { secret: bob.secret, body: { partnerId: 'alice' } });
    expect(wrong.status).toBe(409);
  });

  it('rejects ids that are not slugs', async () => {
    for (const partnerId of ['Alice', '-x', 'a b', 'a:b', '', 'x'.repeat(65)]) {
      const reply = await api(broker.url, 'POST', '/register', { body: { partnerId } });
      expect(reply.status, partnerId).toBe(400);
      expect(reply.body.code).toBe('bad_request');
    }
  });
});

describe('talk and listen', () => {
  it('creates the direct conversation on first send and delivers over long-poll', async () => {
    const sent = await talk(broker.url, alice, { to: 'bob', content: 'hello bob' });
    expect(sent.status).toBe(200);
    const reply = TalkReply.parse(sent.body);
    expect(reply).toMatchObject({ conversationId: 'direct:alice:bob', duplicate: false });

    const heard = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    expect(ListenReply.parse(heard.body).messages).toEqual([
      {
        id: reply.messageId,
        conversationId: 'direct:alice:bob',
        from: 'alice',
        content: 'hello bob',
        createdAt: reply.createdAt,
      },
    ]);
    expect(reply.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

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
    expect(heard.body).toEqual({ messages: [] });
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

  it('returns the original message for a retried clientMsgId', async () => {
    const first = await talk(broker.url, alice, { to: 'bob', content: 'once', clientMsgId: 'm-1' });
    const retry = await talk(broker.url, alice, { to: 'bob', content: 'once', clientMsgId: 'm-1' });
    expect(retry.body).toEqual({ ...first.body, duplicate: true });
    const heard = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret });
    expect(heard.body.messages).toHaveLength(1);
  });

  it('takes the sender from the secret, never from the body', async () => {
    const spoof = await talk(broker.url, alice, { to: 'bob', content: 'x', from: 'carol' });
    expect(spoof.status).toBe(400);
    expect(spoof.body.error).toMatch(/unknown field/);
  });

  it('explains unknown recipients, self-talk and missing targets', async () => {
    expect((await talk(broker.url, alice, { to: 'nobody', content: 'x' })).body.code).toBe('unknown_partner');
    expect((await talk(broker.url, alice, { to: 'alice', content: 'x' })).status).toBe(400);
    expect((await talk(broker.url, alice, { content: 'x' })).status).toBe(400);
    expect(
      (await talk(broker.url, alice, { to: 'bob', conversationId: 'direct:alice:bob', content: 'x' })).status,
    ).toBe(400);
    expect((await talk(broker.url, alice, { to: 'bob', content: '' })).status).toBe(400);
    expect((await talk(broker.url, alice, { conversationId: 'group_doesnotexist', content: 'x' })).body.code).toBe(
      'unknown_conversation',
    );
  });

  it('keeps ids apart that the seed would have collided (a_b + c vs a + b_c)', async () => {
    const ab = await register(broker.url, 'a_b');
    const a = await register(broker.url, 'a');
    await register(broker.url, 'c');
    await register(broker.url, 'b_c');
    const one = await talk(broker.url, ab, { to: 'c', content: '1' });
    const two = await talk(broker.url, a, { to: 'b_c', content: '2' });
    expect(one.body.conversationId).not.toBe(two.body.conversationId);
  });
});

describe('groups and history', () => {
  it('creates a group, fans out, lists with unread counts, and leaves', async () => {
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Backend Team', participants: ['bob', 'carol'] },
    });
    expect(created.status).toBe(200);
    const group = created.body.conversation;
    expect(group).toMatchObject({ kind: 'group', name: 'Backend Team', members: ['alice', 'bob', 'carol'], unread: 0 });
    expect(group.id).toMatch(/^group_[a-z0-9]+$/);

    await talk(broker.url, alice, { conversationId: group.id, content: 'Sprint planning in 5 min' });
    for (const who of [bob, carol]) {
      const list = ConversationsReply.parse(
        (await api(broker.url, 'GET', `/conversations/${who.partnerId}`, { secret: who.secret })).body,
      );
      expect(list.conversations.find((c) => c.id === group.id)?.unread).toBe(1);
    }
    const left = await api(broker.url, 'POST', `/conversations/${group.id}/leave`, { secret: carol.secret });
    expect(left.body).toEqual({ left: true, conversationId: group.id });
    await talk(broker.url, alice, { conversationId: group.id, content: 'carol is gone' });
    const carolList = await api(broker.url, 'GET', '/conversations/carol', { secret: carol.secret });
    expect(carolList.body.conversations).toEqual([]);
    const carolSend = await talk(broker.url, carol, { conversationId: group.id, content: 'still here?' });
    expect(carolSend.body.code).toBe('not_member');
  });

  it('rejects groups with unknown participants and leaving a direct conversation', async () => {
    const bad = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'x', participants: ['ghost'] },
    });
    expect(bad.status).toBe(404);
    expect(bad.body.error).toContain('ghost');
    await talk(broker.url, alice, { to: 'bob', content: 'hi' });
    const leave = await api(broker.url, 'POST', '/conversations/direct:alice:bob/leave', { secret: alice.secret });
    expect(leave.status).toBe(400);
  });

  it('returns the newest N oldest-first and pages with before', async () => {
    for (let i = 1; i <= 7; i++) await talk(broker.url, alice, { to: 'bob', content: `m${i}` });
    const page = HistoryReply.parse(
      (await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages?limit=3', { secret: bob.secret })).body,
    );
    expect(page.messages.map((m) => m.content)).toEqual(['m5', 'm6', 'm7']);
    expect(page.hasMore).toBe(true);
    const older = HistoryReply.parse(
      (
        await api(
          broker.url,
          'GET',
          `/conversations/direct:alice:bob/messages?limit=3&before=${page.messages[0]!.id}`,
          { secret: bob.secret },
        )
      ).body,
    );
    expect(older.messages.map((m) => m.content)).toEqual(['m2', 'm3', 'm4']);
    const outsider = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: carol.secret });
    expect(outsider.status).toBe(403);
    expect(outsider.body.code).toBe('not_member');
  });
});

describe('partners and settings', () => {
  it('lists partners without paths, with status', async () => {
    await api(broker.url, 'POST', '/partners/bob/status', { secret: bob.secret, body: { status: 'refactoring auth' } });
    const list = PartnersReply.parse((await api(broker.url, 'GET', '/partners', { secret: alice.secret })).body);
    expect(list.partners.map((p) => p.id)).toEqual(['alice', 'bob', 'carol']);
    expect(list.partners.find((p) => p.id === 'bob')).toMatchObject({
      name: 'Bob the builder',
      status: 'refactoring auth',
      online: false,
    });
    expect(JSON.stringify(list)).not.toContain('project');
  });

  it('lets a partner change only its own settings', async () => {
    const mine = await api(broker.url, 'POST', '/partners/alice/notifications', {
      secret: alice.secret,
      body: { enabled: false },
    });
    expect(mine.body).toEqual({ partnerId: 'alice', status: null, notifications: false });
    const theirs = await api(broker.url, 'POST', '/partners/bob/status', {
      secret: alice.secret,
      body: { status: 'pwned' },
    });
    expect(theirs.status).toBe(403);
    const listenOther = await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: alice.secret });
    expect(listenOther.status).toBe(403);
  });

  it('unregisters a partner', async () => {
    const reply = await api(broker.url, 'POST', '/unregister', { secret: alice.secret, body: { partnerId: 'alice' } });
    expect(reply.body).toEqual({ partnerId: 'alice', online: false });
    const other = await api(broker.url, 'POST', '/unregister', { secret: alice.secret, body: { partnerId: 'bob' } });
    expect(other.status).toBe(403);
  });

  it('answers /health without private data', async () => {
    const health = await api(broker.url, 'GET', '/health');
    expect(health.body).toMatchObject({ ok: true, version: expect.any(String) });
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
