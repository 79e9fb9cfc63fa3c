import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, WsClient, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;

beforeEach(async () => {
  broker = await startBroker({ heartbeatMs: 200, helloTimeoutMs: 300 });
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
});
afterEach(async () => broker.close());

describe('hello and welcome', () => {
  it('welcomes a partner with its name and the heartbeat interval', async () => {
    const client = await connect(broker.url, alice);
    const welcome = await client.frame('welcome');
    expect(welcome).toMatchObject({ partnerId: 'alice', name: 'alice', heartbeatMs: 200 });
    client.close();
  });

  it('closes a socket whose hello carries a wrong secret', async () => {
    const client = new WsClient(broker.url);
    await client.opened;
    client.send({ type: 'hello', partnerId: 'alice', secret: bob.secret, since: 0 });
    expect(await client.closed).toBe(CloseCode.unauthorized);
    expect(client.frames[0]).toMatchObject({ type: 'error', code: 'unauthorized' });
  });

  it('refuses other frames before hello', async () => {
    const client = new WsClient(broker.url);
    await client.opened;
    client.send({ type: 'talk', to: 'bob', content: 'sneaky' });
    const error = await client.frame('error');
    expect(error.code).toBe('unauthorized');
    expect((await api(broker.url, 'GET', '/listen/bob?timeout=0', { secret: bob.secret })).body.messages).toEqual([]);
    client.close();
  });

  it('closes at once, with 4003, a socket whose first frame is not a valid hello', async () => {
    for (const frame of [
      { type: 'hello', partnerId: 'alice' },
      { type: 'talk', ref: 'r0', to: 'bob', content: 'x' },
      'not json',
    ]) {
      const client = new WsClient(broker.url);
      await client.opened;
      if (typeof frame === 'string') client.sendRaw(frame);
      else client.send(frame);
      expect(await client.closed).toBe(CloseCode.unauthorized);
      expect(client.frames[0]?.type).toBe('error');
      if (typeof frame === 'object' && 'ref' in frame) expect(client.frames[0]).toMatchObject({ ref: 'r0' });
    }
  });

  it('handles frames pipelined right behind the hello, after the welcome', async () => {
    const client = new WsClient(broker.url);
    await client.opened;
    client.send({ type: 'hello', partnerId: 'alice', secret: alice.secret, since: 0 });
    client.send({ type: 'talk', ref: 'p1', to: 'bob', content: 'no need to wait' });
    const sent = await client.frame('sent', (f) => f.ref === 'p1');
    expect(client.frames[0]?.type).toBe('welcome');
    expect(sent.conversationId).toBe('direct:alice:bob');
    client.close();
  });

  it('closes a socket that never says hello', async () => {
    const client = new WsClient(broker.url);
    await client.opened;
    expect(await client.closed).toBe(CloseCode.helloTimeout);
  });
});

describe('talk, push and ack', () => {
  it('acknowledges a send with sent and pushes it to the recipient', async () => {
    const a = await connect(broker.url, alice);
    const b = await connect(broker.url, bob);
    a.send({ type: 'talk', ref: 'r1', to: 'bob', content: 'hi', clientMsgId: 'c1' });
    const sent = await a.frame('sent');
    expect(sent).toMatchObject({ ref: 'r1', conversationId: 'direct:alice:bob', duplicate: false });
    const pushed = await b.frame('message');
    expect(pushed.message).toMatchObject({ id: sent.messageId, from: 'alice', content: 'hi' });
    expect(pushed.message.redelivered).toBeUndefined();

    a.send({ type: 'talk', ref: 'r2', to: 'bob', content: 'hi', clientMsgId: 'c1' });
    expect(await a.frame('sent', (f) => f.ref === 'r2')).toMatchObject({ messageId: sent.messageId, duplicate: true });
    a.close();
    b.close();
  });

  it('answers a bad frame with an error that carries its ref, and stays open', async () => {
    const a = await connect(broker.url, alice);
    a.send({ type: 'talk', ref: 'bad', to: 'bob', content: 'x', from: 'bob' });
    expect(await a.frame('error', (f) => f.ref === 'bad')).toMatchObject({ code: 'bad_request' });
    a.sendRaw('{not json');
    expect(await a.frame('error', (f) => f.code === 'invalid_json')).toBeDefined();
    a.send({ type: 'teleport' });
    expect(await a.frame('error', (f) => f.error.includes('Frame types'))).toBeDefined();
    a.send({ type: 'talk', ref: 'ok', to: 'bob', content: 'still works' });
    expect(await a.frame('sent', (f) => f.ref === 'ok')).toBeDefined();
    a.close();
  });

  it('closes on binary frames', async () => {
    const a = await connect(broker.url, alice);
    a.sendRaw(Buffer.from([1, 2, 3]), true);
    expect(await a.closed).toBe(CloseCode.unsupportedData);
  });

  it('marks read with ack: acked messages are not replayed', async () => {
    for (const content of ['one', 'two', 'three']) await talk(broker.url, alice, { to: 'bob', content });
    const b = await connect(broker.url, bob);
    await b.until((c) => c.messages().length === 3);
    const [, second] = b.messages();
    b.send({ type: 'ack', conversationId: 'direct:alice:bob', upTo: second!.id });
    await new Promise((r) => setTimeout(r, 100));
    b.close();
    await b.closed;
    const again = await connect(broker.url, bob);
    await again.until((c) => c.messages().length === 1);
    expect(again.messages().map((m) => m.content)).toEqual(['three']);
    again.close();
  });

  it('rejects acks for conversations the partner is not in', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'private' });
    const eve = await register(broker.url, 'eve');
    const e = await connect(broker.url, eve);
    e.send({ type: 'ack', ref: 'x', conversationId: 'direct:alice:bob', upTo: 99 });
    expect(await e.frame('error', (f) => f.ref === 'x')).toMatchObject({ code: 'not_member' });
    e.close();
  });
});

describe('replay and takeover', () => {
  it('replays unread messages above since, in id order, flagged redelivered when pushed before', async () => {
    const first = await connect(broker.url, bob);
    for (let i = 1; i <= 5; i++) await talk(broker.url, alice, { to: 'bob', content: `m${i}` });
    await first.until((c) => c.messages().length === 5);
    const held = first.messages()[2]!.id;
    first.close();
    await first.closed;

    const resumed = await connect(broker.url, bob, held);
    await resumed.until((c) => c.messages().length === 2);
    expect(resumed.messages().map((m) => m.content)).toEqual(['m4', 'm5']);
    expect(resumed.messages().every((m) => m.redelivered === true)).toBe(true);
    resumed.close();
  });

  it('lets a second session take over: the old socket closes with 4001 and gets nothing more', async () => {
    const old = await connect(broker.url, bob);
    const fresh = await connect(broker.url, bob);
    expect(await old.closed).toBe(CloseCode.replaced);
    await talk(broker.url, alice, { to: 'bob', content: 'for the new session' });
    await fresh.frame('message');
    expect(old.messages()).toEqual([]);
    fresh.close();
  });

  it('stops replaying into a socket that went away mid-backlog', async () => {
    for (let i = 0; i < 300; i++) await talk(broker.url, alice, { to: 'bob', content: `${i} ${'x'.repeat(8000)}` });
    const b = new WsClient(broker.url);
    await b.opened;
    // Stop reading at once, so the backlog piles up on the broker's side of the socket.
    (b.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    b.send({ type: 'hello', partnerId: 'bob', secret: bob.secret, since: 0 });
    await new Promise((r) => setTimeout(r, 200));
    const session = broker.broker.service.sessions.get('bob');
    expect(session).toBeDefined();
    b.socket.terminate();
    await b.closed;
    await new Promise((r) => setTimeout(r, 200));
    expect(broker.broker.service.sessions.get('bob')).toBeUndefined();
    expect(session!.closed).toBe(true);
  });

  it('terminates a socket that stops answering pings', async () => {
    const b = await connect(broker.url, bob);
    // Stop the client's automatic pong replies: it now looks like a half-open connection.
    (b.socket as unknown as { _receiver: { removeAllListeners(e: string): void } })._receiver.removeAllListeners(
      'ping',
    );
    b.socket.pong = () => {};
    const code = await b.closed;
    expect(code).toBe(1006);
    const partners = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
    expect(partners.body.partners.find((p: { id: string }) => p.id === 'bob').online).toBe(false);
  });
});

describe('flow control', () => {
  it('holds messages while paused and sends them on resume', async () => {
    const b = await connect(broker.url, bob);
    await talk(broker.url, alice, { to: 'bob', content: 'before pause' });
    await b.until((c) => c.messages().length === 1);
    b.send({ type: 'pause' });
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 3; i++) await talk(broker.url, alice, { to: 'bob', content: `held ${i}` });
    await new Promise((r) => setTimeout(r, 100));
    expect(b.messages()).toHaveLength(1);
    b.send({ type: 'resume', since: b.messages()[0]!.id });
    await b.until((c) => c.messages().length === 4);
    expect(b.messages().map((m) => m.content)).toEqual(['before pause', 'held 0', 'held 1', 'held 2']);
    b.close();
  });

  it('re-sends from the lower point when a second resume arrives while the first is still reading', async () => {
    const b = await connect(broker.url, bob);
    for (let i = 1; i <= 10; i++) await talk(broker.url, alice, { to: 'bob', content: `m${i}` });
    await b.until((c) => c.messages().length === 10);
    const ids = b.messages().map((m) => m.id);
    b.send({ type: 'pause' });
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 11; i <= 15; i++) await talk(broker.url, alice, { to: 'bob', content: `m${i}` });
    // Both frames land in one tick: the second moves the starting point under the first's read.
    b.socket.send(JSON.stringify({ type: 'resume', since: ids[9] }));
    b.socket.send(JSON.stringify({ type: 'resume', since: ids[4] }));
    await b.until((c) => c.messages().length >= 20, 5000, 'the re-sent messages');
    const after = b
      .messages()
      .slice(10)
      .map((m) => m.content);
    expect(after.slice(-10)).toEqual(['m6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12', 'm13', 'm14', 'm15']);
    expect(b.messages().some((m) => m.redelivered)).toBe(false);
    b.close();
  });
});
