import { afterEach, expect, it } from 'vitest';
import { DEFAULT_LOOP_GUARD } from '../../src/shared/loop-policy.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { consoleLogin, watchProtocols, Watcher, watchAsOwner } from '../helpers/console.ts';
import { api, connect, register, talk } from '../helpers/clients.ts';

let broker: TestBroker;
afterEach(async () => broker?.close());

it('streams every committed message in id order without consuming anything or touching a session', async () => {
  broker = await startBroker({ loopGuard: DEFAULT_LOOP_GUARD });
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  const carol = await register(broker.url, 'carol');
  const agent = await connect(broker.url, bob);
  const watcher = await watchAsOwner(broker);
  expect(watcher.frames[0]).toMatchObject({ type: 'watching', upTo: 0, replayFrom: 0, loopGuard: { limit: 20 } });

  const sent: number[] = [];
  for (let i = 0; i < 30; i++) {
    const [from, to] = i % 3 === 0 ? [alice, 'bob'] : i % 3 === 1 ? [carol, 'alice'] : [bob, 'carol'];
    sent.push((await talk(broker.url, from, { to, content: `m${i}` })).body.messageId);
  }
  await watcher.until((w) => w.messageIds().length === 30, '30 messages');
  expect(watcher.messageIds()).toEqual(sent);

  // Bob's session is the same one and still receives; nothing was marked read for anyone.
  await agent.until((c) => c.messages().length === 10, 5_000, "bob's messages");
  expect(agent.closeCode).toBeUndefined();
  for (const who of [alice, bob, carol]) {
    const mine = await api(broker.url, 'GET', `/conversations/${who.partnerId}`, { secret: who.secret });
    expect(mine.body.conversations.reduce((n: number, c: any) => n + c.unread, 0)).toBe(10);
  }
  watcher.close();
  agent.close();
});

it('replays what a reconnecting watcher missed, then goes on live', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  await register(broker.url, 'bob');
  for (let i = 0; i < 5; i++) await talk(broker.url, alice, { to: 'bob', content: `before ${i}` });
  const watcher = await watchAsOwner(broker, 2);
  expect(watcher.frames[0]).toMatchObject({ type: 'watching', upTo: 5, replayFrom: 2 });
  await talk(broker.url, alice, { to: 'bob', content: 'live' });
  await watcher.until((w) => w.messageIds().length === 4, 'replay and live');
  expect(watcher.messageIds()).toEqual([3, 4, 5, 6]);
  watcher.close();
});

it('reports presence and holds', async () => {
  broker = await startBroker({ loopGuard: '2/60s' });
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  const watcher = await watchAsOwner(broker);
  const socket = await connect(broker.url, bob);
  await watcher.until((w) => w.frames.some((f) => f.type === 'presence' && f.online), 'bob online');
  await talk(broker.url, alice, { to: 'bob', content: '1' });
  await talk(broker.url, bob, { to: 'alice', content: '2' });
  expect((await talk(broker.url, alice, { to: 'bob', content: '3' })).status).toBe(423);
  await watcher.until((w) => w.frames.some((f) => f.type === 'held'), 'the hold');
  await api(broker.url, 'POST', '/conversations/direct:alice:bob/resume', {
    headers: { 'x-duo-token': broker.broker.ownerToken },
  });
  await watcher.until((w) => w.frames.some((f) => f.type === 'released'), 'the release');
  expect(watcher.frames.find((f) => f.type === 'released')).toEqual({
    type: 'released',
    conversationId: 'direct:alice:bob',
    by: 'resume',
  });
  socket.close();
  await watcher.until((w) => w.frames.some((f) => f.type === 'presence' && !f.online), 'bob offline');
  watcher.close();
});

it('admits only the owner token or a console session, and no foreign page', async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const refused = async (headers: Record<string, string>, protocols: string[] = []) => {
    const watcher = new Watcher(broker.url, headers, undefined, protocols);
    return watcher.opened.then(
      () => 101,
      (error: Error) => Number(/refused: (\d+)/.exec(error.message)?.[1]),
    );
  };
  expect(await refused({})).toBe(401);
  expect(await refused({ 'x-duo-token': 'not-the-token' })).toBe(401);
  expect(await refused({ authorization: `Bearer ${alice.secret}` })).toBe(401);
  const auth = await consoleLogin(broker);
  const { cookie } = auth;
  expect(await refused({ cookie, origin: 'http://localhost:1' }, watchProtocols(auth))).toBe(403);
  expect(await refused({ cookie, origin: 'https://evil.example' }, watchProtocols(auth))).toBe(403);
  const own = new Watcher(
    broker.url,
    { cookie, origin: `http://127.0.0.1:${broker.port}` },
    undefined,
    watchProtocols(auth),
  );
  await own.opened;
  // The answer names the watch protocol, never the one that carries the page key.
  expect(own.socket.protocol).toBe('duo-watch');
  await own.until((w) => w.frames[0]?.type === 'watching', 'the watching frame');
  own.close();
});
