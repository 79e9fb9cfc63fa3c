/** Sending: the direct conversation made on first use, retries, refusals, and who the sender is. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ListenReply, TalkReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob', { name: 'Bob the builder' });
  await register(broker.url, 'carol');
});
afterEach(async () => broker.close());

describe('talk', () => {
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
