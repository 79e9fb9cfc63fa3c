/**
 * The mailbox: read state and flow control against a fake connection, then the whole partner
 * against a real broker (pause and resume, acks the rate limiter refused).
 */
import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/client/connection.ts';
import { Mailbox, type MailboxLink } from '../../src/partner/mailbox.ts';
import type { Message } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { startPartner, waitUntil, type TestPartner } from '../helpers/mcp-partner.ts';

let broker: TestBroker;
const open: TestPartner[] = [];
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

/** A stand-in for the connection that records the frames the mailbox asks for. */
class FakeLink extends EventEmitter implements MailboxLink {
  isOpen = true;
  readonly frames: string[] = [];
  ack(conversationId: string, upTo: number): void {
    this.frames.push(`ack ${conversationId} ${upTo}`);
  }
  forgetConversation(conversationId: string): void {
    this.frames.push(`forget ${conversationId}`);
  }
  pause(): boolean {
    this.frames.push('pause');
    return this.isOpen;
  }
  resume(since: number): boolean {
    this.frames.push(`resume ${since}`);
    return this.isOpen;
  }
  push(message: Message): void {
    this.emit('message', message);
  }
  state(state: ConnectionState): void {
    this.emit('state', state);
  }
}

const msg = (id: number, conversationId = 'direct:alice:bob'): Message => ({
  id,
  conversationId,
  from: 'bob',
  content: `m${id}`,
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('Mailbox', () => {
  it('announces each message once and acks what take hands out, per conversation', () => {
    const link = new FakeLink();
    const mailbox = new Mailbox({ maxMessages: 10, maxBytes: 1 << 20 }, link);
    const announced: number[] = [];
    mailbox.on('message', (m) => announced.push(m.id));
    for (const m of [msg(1), msg(2, 'group_aaaaaa'), msg(2, 'group_aaaaaa'), msg(3)]) link.push(m);
    expect(announced).toEqual([1, 2, 3]);
    expect(mailbox.since).toBe(3);
    expect(mailbox.take(undefined, 10).map((m) => m.id)).toEqual([1, 2, 3]);
    expect(link.frames).toEqual(['ack direct:alice:bob 3', 'ack group_aaaaaa 2']);
    expect(mailbox.lastConversation).toBe('direct:alice:bob');
  });

  it('a reply acks nothing it did not show; a read elsewhere drops what it covers, and what comes after', () => {
    const link = new FakeLink();
    const mailbox = new Mailbox({ maxMessages: 10, maxBytes: 1 << 20 }, link);
    link.push(msg(1));
    link.push(msg(2));
    link.push(msg(3, 'group_aaaaaa'));
    mailbox.wroteIn('direct:alice:bob');
    expect(link.frames).toEqual([]);
    expect(mailbox.lastConversation).toBe('direct:alice:bob');
    expect(mailbox.held().map((m) => m.id)).toEqual([1, 2, 3]);
    // A hook showed the model direct:alice:bob up to 1; the broker says so.
    link.emit('read', 'direct:alice:bob', 1);
    expect(mailbox.held().map((m) => m.id)).toEqual([2, 3]);
    expect(link.frames).toEqual([]);
    // A late push of a message already read is not new.
    const announced: number[] = [];
    mailbox.on('message', (m) => announced.push(m.id));
    link.push(msg(1));
    expect(announced).toEqual([]);
    expect(mailbox.held().map((m) => m.id)).toEqual([2, 3]);
  });

  it('pauses when full, resumes below half, and starts unpaused on every new socket', () => {
    const link = new FakeLink();
    const mailbox = new Mailbox({ maxMessages: 4, maxBytes: 1 << 20 }, link);
    for (let id = 1; id <= 4; id++) link.push(msg(id));
    expect(link.frames).toEqual(['pause']);
    expect(mailbox.saturated).toBe(true);
    mailbox.take(undefined, 1);
    expect(link.frames).toEqual(['pause', 'ack direct:alice:bob 1']);
    mailbox.take(undefined, 2);
    expect(link.frames.at(-1)).toBe('resume 4');
    link.frames.length = 0;
    for (let id = 5; id <= 7; id++) link.push(msg(id));
    expect(link.frames).toEqual(['pause']);
    link.state('open');
    expect(link.frames).toEqual(['pause', 'pause']);
  });

  it('leaving a conversation drops its messages and its acks', () => {
    const link = new FakeLink();
    const mailbox = new Mailbox({ maxMessages: 10, maxBytes: 1 << 20 }, link);
    link.push(msg(1, 'group_aaaaaa'));
    link.push(msg(2));
    mailbox.take('group_aaaaaa', 1);
    link.push(msg(3, 'group_aaaaaa'));
    mailbox.leave('group_aaaaaa');
    expect(mailbox.held().map((m) => m.id)).toEqual([2]);
    expect(link.frames).toEqual(['ack group_aaaaaa 1', 'forget group_aaaaaa']);
    expect(mailbox.lastConversation).toBeUndefined();
  });
});

describe('flow control against the real broker', () => {
  it('pauses when the inbox is full and resumes as it drains, losing and repeating nothing', async () => {
    const alice = await startPartner(broker.url, { partnerId: 'fc-alice', overrides: { inboxMaxMessages: 4 } });
    const bob = await startPartner(broker.url, { partnerId: 'fc-bob' });
    open.push(alice, bob);
    const total = 30;
    for (let i = 1; i <= total; i++)
      expect((await bob.call('talk', { message: `n${i}`, to: 'fc-alice' })).isError).toBe(false);
    // The broker stops pushing at the limit (plus what was already in flight).
    await waitUntil(() => alice.partner.held().length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alice.partner.held().length).toBeLessThan(total);
    expect(alice.partner.inboxSaturated).toBe(true);
    expect((await alice.call('list_partners')).text).toMatch(/📬 \d+\+ unread/);

    const received: string[] = [];
    const deadline = Date.now() + 10_000;
    while (received.length < total && Date.now() < deadline) {
      const heard = await alice.call('listen', { timeout: 3 });
      expect(heard.isError).toBe(false);
      received.push(...[...heard.text.matchAll(/\n(n\d+)\n<\/peer_message>/g)].map((m) => m[1]!));
    }
    expect(received).toEqual(Array.from({ length: total }, (_, i) => `n${i + 1}`));
  });
});

describe('acks refused by the rate limiter', () => {
  it('are sent again once the limit passes, so read messages do not come back', async () => {
    const strict = await startBroker({ rateLimit: 1, rateBurst: 2 });
    try {
      const alice = await startPartner(strict.url, { partnerId: 'rl-alice' });
      const bob = await startPartner(strict.url, { partnerId: 'rl-bob' });
      open.push(alice, bob);
      await bob.call('talk', { message: 'read me', to: 'rl-alice' });
      await waitUntil(() => alice.partner.held().length === 1);
      // Spend alice's tokens, so the ack that listen sends is refused.
      await alice.call('list_partners');
      await alice.call('list_partners');
      expect((await alice.call('listen', { timeout: 0 })).text).toContain('read me');
      const unread = async () => (await strict.broker.service.conversations.list('rl-alice'))[0]?.unread;
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect.poll(unread, { timeout: 5_000, interval: 100 }).toBe(0);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await strict.close();
    }
  });
});
