/**
 * A direct conversation has one id, `direct:<a>:<b>` with the ids sorted, however a caller spells
 * it: the other way round, or in the old `direct_<a>_<b>` form read from the caller's side.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;
let firstId: number;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
  firstId = (await talk(broker.url, alice, { to: 'bob', content: 'first' })).body.messageId;
});
afterEach(async () => broker.close());

describe.each([
  ['the other way round', 'direct:bob:alice'],
  ['in the old form', 'direct_alice_bob'],
  ['in the old form, from the other side', 'direct_bob_alice'],
])('a direct id written %s', (_how, spelled) => {
  it('reaches direct:alice:bob over REST talk', async () => {
    const sent = await talk(broker.url, bob, { conversationId: spelled, content: 'reply' });
    expect(sent.status).toBe(200);
    expect(sent.body.conversationId).toBe('direct:alice:bob');
  });

  it('reaches direct:alice:bob over REST history', async () => {
    const history = await api(broker.url, 'GET', `/conversations/${spelled}/messages`, { secret: bob.secret });
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: { id: number }) => m.id)).toEqual([firstId]);
  });

  it('reaches direct:alice:bob over REST listen', async () => {
    const heard = await api(broker.url, 'GET', `/listen/bob?timeout=0&conversationId=${spelled}`, {
      secret: bob.secret,
    });
    expect(heard.status).toBe(200);
    expect(heard.body.messages).toMatchObject([{ id: firstId, conversationId: 'direct:alice:bob' }]);
  });

  it('reaches direct:alice:bob over REST leave (which refuses: direct conversations cannot be left)', async () => {
    const left = await api(broker.url, 'POST', `/conversations/${spelled}/leave`, { secret: bob.secret });
    expect(left.status).toBe(400);
    expect(left.body.error).toContain('"direct:alice:bob" is a direct conversation');
  });

  it('reaches direct:alice:bob over WebSocket talk and ack', async () => {
    const b = await connect(broker.url, bob);
    await b.until((c) => c.messages().length === 1);
    b.send({ type: 'ack', ref: 'a1', conversationId: spelled, upTo: firstId });
    b.send({ type: 'talk', ref: 't1', conversationId: spelled, content: 'over the socket' });
    expect(await b.frame('sent', (f) => f.ref === 't1')).toMatchObject({ conversationId: 'direct:alice:bob' });
    expect(b.frames.some((f) => f.type === 'error')).toBe(false);
    b.close();
    // The ack reached the conversation: nothing of it is unread any more.
    const unread = await api(broker.url, 'GET', '/listen/bob?timeout=0&peek=1', { secret: bob.secret });
    expect(unread.body.messages).toEqual([]);
  });
});

describe('the old form', () => {
  it("is refused with a clear 400 when it does not name one of the caller's own conversations", async () => {
    const dave = await register(broker.url, 'dave');
    const sent = await talk(broker.url, dave, { conversationId: 'direct_alice_bob', content: 'x' });
    expect(sent.status).toBe(400);
    expect(sent.body).toMatchObject({ code: 'bad_request' });
    expect(sent.body.error).toContain('conversation id');
  });
});
