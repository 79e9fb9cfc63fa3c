import { describe, expect, it } from 'vitest';
import { Inbox } from '../../src/partner/inbox.ts';
import type { Message } from '../../src/shared/protocol.ts';

const msg = (id: number, conversationId = 'direct:alice:bob', content = `m${id}`): Message => ({
  id,
  conversationId,
  from: 'bob',
  content,
  createdAt: new Date(0).toISOString(),
});

describe('Inbox', () => {
  it('keeps messages in id order and drops duplicates', () => {
    const inbox = new Inbox({ maxMessages: 10, maxBytes: 1 << 20 });
    expect(inbox.add(msg(3))).toBe('added');
    expect(inbox.add(msg(1))).toBe('added');
    expect(inbox.add(msg(2))).toBe('added');
    expect(inbox.add(msg(2))).toBe('duplicate');
    expect(inbox.peek().map((m) => m.id)).toEqual([1, 2, 3]);
    expect(inbox.highWater).toBe(3);
  });

  it('take removes only matching messages, up to a limit, and a taken id stays a duplicate', () => {
    const inbox = new Inbox({ maxMessages: 10, maxBytes: 1 << 20 });
    for (const [id, c] of [
      [1, 'group_aaaaaa'],
      [2, 'direct:alice:bob'],
      [3, 'group_aaaaaa'],
      [4, 'group_aaaaaa'],
    ] as const)
      inbox.add(msg(id, c));
    expect(inbox.take({ conversationId: 'group_aaaaaa' }, 2).map((m) => m.id)).toEqual([1, 3]);
    expect(inbox.peek().map((m) => m.id)).toEqual([2, 4]);
    expect(inbox.add(msg(1, 'group_aaaaaa'))).toBe('duplicate');
    expect(inbox.take().map((m) => m.id)).toEqual([2, 4]);
    expect(inbox.size).toBe(0);
    expect(inbox.bytes).toBe(0);
    expect(inbox.highWater).toBe(4);
  });

  it('reports full at the count limit and below half after draining', () => {
    const inbox = new Inbox({ maxMessages: 4, maxBytes: 1 << 20 });
    for (let id = 1; id <= 4; id++) inbox.add(msg(id));
    expect(inbox.isFull).toBe(true);
    inbox.take({}, 2);
    expect(inbox.isFull).toBe(false);
    expect(inbox.isBelowHalf).toBe(false);
    inbox.take({}, 1);
    expect(inbox.isBelowHalf).toBe(true);
  });

  it('counts bytes toward the limit', () => {
    const inbox = new Inbox({ maxMessages: 100, maxBytes: 2000 });
    inbox.add(msg(1, 'direct:alice:bob', 'x'.repeat(1900)));
    expect(inbox.isFull).toBe(true);
  });

  it('past the hard limit drops every later message without moving highWater, until reset', () => {
    const inbox = new Inbox({ maxMessages: 2, maxBytes: 1 << 20, hardMaxMessages: 4 });
    for (let id = 1; id <= 4; id++) expect(inbox.add(msg(id))).toBe('added');
    expect(inbox.add(msg(5))).toBe('dropped');
    inbox.take({}, 4);
    expect(inbox.add(msg(6))).toBe('dropped');
    expect(inbox.highWater).toBe(4);
    expect(inbox.since).toBe(4);
    inbox.resetDropping();
    expect(inbox.add(msg(5))).toBe('added');
    expect(inbox.add(msg(6))).toBe('added');
  });

  it('keeps since below a dropped id even when a later id was accepted first', () => {
    const inbox = new Inbox({ maxMessages: 1, maxBytes: 1 << 20, hardMaxMessages: 2 });
    inbox.add(msg(1));
    inbox.add(msg(3));
    expect(inbox.add(msg(2))).toBe('dropped');
    expect(inbox.highWater).toBe(3);
    expect(inbox.since).toBe(1);
    inbox.resetDropping();
    expect(inbox.since).toBe(3);
  });

  it('waitFor resolves on a matching arrival and false on abort', async () => {
    const inbox = new Inbox({ maxMessages: 10, maxBytes: 1 << 20 });
    const controller = new AbortController();
    const waiting = inbox.waitFor({ conversationId: 'group_bbbbbb' }, controller.signal);
    inbox.add(msg(1, 'direct:alice:bob'));
    inbox.add(msg(2, 'group_bbbbbb'));
    await expect(waiting).resolves.toBe(true);
    expect(inbox.size).toBe(2);

    const aborted = new AbortController();
    const never = inbox.waitFor({ conversationId: 'group_cccccc' }, aborted.signal);
    aborted.abort();
    await expect(never).resolves.toBe(false);
  });

  it('summarizes unread per conversation and sender', () => {
    const inbox = new Inbox({ maxMessages: 10, maxBytes: 1 << 20 });
    inbox.add(msg(1, 'direct:alice:bob'));
    inbox.add({ ...msg(2, 'group_aaaaaa'), from: 'carol' });
    inbox.add(msg(3, 'direct:alice:bob'));
    const unread = inbox.unread();
    expect(unread.map((u) => [u.conversationId, u.count])).toEqual([
      ['direct:alice:bob', 2],
      ['group_aaaaaa', 1],
    ]);
    expect([...unread[1]!.senders]).toEqual([['carol', 1]]);
  });

  it('discard removes a conversation up to an id', () => {
    const inbox = new Inbox({ maxMessages: 10, maxBytes: 1 << 20 });
    inbox.add(msg(1));
    inbox.add(msg(2, 'group_aaaaaa'));
    inbox.add(msg(3));
    expect(inbox.discard('direct:alice:bob', 1).map((m) => m.id)).toEqual([1]);
    expect(inbox.peek().map((m) => m.id)).toEqual([2, 3]);
  });
});
