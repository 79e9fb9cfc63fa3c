/** Groups, leaving, the conversation list with unread counts, and history. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConversationsReply, HistoryReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, talk, type Registered } from '../helpers/clients.ts';

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

describe('groups and history', () => {
  it('creates a group, fans out, lists with unread counts, and leaves', async () => {
    const created = await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: 'Backend Team', participants: ['bob', 'carol'] },
    });
    expect(created.status).toBe(200);
    const group = created.body.conversation;
    expect(group).toMatchObject({
      kind: 'group',
      name: 'Backend Team',
      members: ['alice', 'bob', 'carol'],
      unread: 0,
      held: false,
    });
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
