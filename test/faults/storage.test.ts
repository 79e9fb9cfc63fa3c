/**
 * Storage failures: a full database (PRAGMA max_page_count) and a database locked by another
 * process. Each write answers a clear 5xx JSON error (REST) or an error frame (WebSocket), never
 * an acknowledgement for something that was not stored; the broker keeps serving and recovers as
 * soon as space or the lock is back.
 */
import { afterEach, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered, type WsClient } from '../helpers/clients.ts';
import { holdDatabaseLock, type HeldLock } from '../helpers/lock.ts';
import { figure, sleep } from '../helpers/scale.ts';

let broker: TestBroker;
let lock: HeldLock | undefined;
const sockets: WsClient[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await lock?.release();
  lock = undefined;
  await broker.close();
});

interface Attempts {
  /** `small` writes (a registration, a group) may still fit in a full database's free pages. */
  rest: Array<{ kind: 'talk' | 'small'; status: number; body: any; retryAfter: string | null }>;
  ws: Array<{ type: string; code?: string }>;
}

/** Tries every kind of write while storage is failing; returns what each answered. */
async function writesDuringFailure(alice: Registered, aliceWs: WsClient, tag: string): Promise<Attempts> {
  const rest: Attempts['rest'] = [];
  const record = (kind: 'talk' | 'small', reply: { status: number; body: any; headers: Headers }) =>
    rest.push({ kind, status: reply.status, body: reply.body, retryAfter: reply.headers.get('retry-after') });
  for (let i = 0; i < 3; i++)
    record(
      'talk',
      await talk(broker.url, alice, {
        to: 'bob',
        content: `${tag} rest ${i} ${'x'.repeat(20_000)}`,
        clientMsgId: `${tag}-rest-${i}`,
      }),
    );
  record('small', await api(broker.url, 'POST', '/register', { body: { partnerId: `${tag}-newcomer` } }));
  record(
    'small',
    await api(broker.url, 'POST', '/conversations', {
      secret: alice.secret,
      body: { name: `${tag} group`, participants: ['bob'] },
    }),
  );

  const ws: Attempts['ws'] = [];
  for (let i = 0; i < 3; i++) {
    const ref = `${tag}-ws-${i}`;
    aliceWs.send({ type: 'talk', ref, to: 'bob', content: `${tag} ws ${i} ${'y'.repeat(20_000)}`, clientMsgId: ref });
    const reply = await aliceWs
      .frame('error', (f) => f.ref === ref, 10_000)
      .catch(() => aliceWs.frame('sent', (f) => f.ref === ref, 1));
    ws.push({ type: reply.type, ...(reply.type === 'error' ? { code: reply.code } : {}) });
  }
  return { rest, ws };
}

async function setup() {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  await talk(broker.url, alice, { to: 'bob', content: 'before the failure' });
  const aliceWs = await connect(broker.url, alice);
  const bobWs = await connect(broker.url, bob);
  sockets.push(aliceWs, bobWs);
  await bobWs.frame('message');
  return { alice, bob, aliceWs, bobWs };
}

/** What survives: the broker answers, nothing unstored was pushed, and writes work again. */
async function expectRecovered(alice: Registered, bob: Registered, aliceWs: WsClient, bobWs: WsClient, tag: string) {
  expect((await api(broker.url, 'GET', '/health')).status).toBe(200);
  const after = await talk(broker.url, alice, { to: 'bob', content: `${tag} after rest` });
  expect(after.status).toBe(200);
  aliceWs.send({ type: 'talk', ref: `${tag}-after`, to: 'bob', content: `${tag} after ws` });
  await aliceWs.frame('sent', (f) => f.ref === `${tag}-after`);
  await bobWs.until((c) => c.messages().length === 3, 5_000, 'the two messages after recovery');
  const history = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages?limit=500', {
    secret: bob.secret,
  });
  const contents = history.body.messages.map((m: { content: string }) => m.content);
  expect(contents).toEqual(['before the failure', `${tag} after rest`, `${tag} after ws`]);
  expect(bobWs.messages().map((m) => m.content)).toEqual(contents);
  return contents.length;
}

function expectRefused(attempts: Attempts, code: string, status: number, smallMayFit = false) {
  for (const reply of attempts.rest) {
    if (smallMayFit && reply.kind === 'small' && reply.status === 200) continue;
    expect(reply.status, JSON.stringify(reply.body)).toBe(status);
    expect(Object.keys(reply.body).sort()).toEqual(['code', 'error']);
    expect(reply.body.code).toBe(code);
    expect(reply.body.error).toMatch(/Nothing was saved/);
  }
  expect(attempts.ws).toEqual(attempts.ws.map(() => ({ type: 'error', code })));
}

it('a full database answers 507 / storage_full, acknowledges nothing, keeps running and recovers', async () => {
  const { alice, bob, aliceWs, bobWs } = await setup();
  const sqlite = broker.broker.database.sqlite!;
  const pages = sqlite.pragma('page_count', { simple: true }) as number;
  sqlite.pragma(`max_page_count = ${pages}`);
  const attempts = await writesDuringFailure(alice, aliceWs, 'full');
  const health = await api(broker.url, 'GET', '/health');
  const reads = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
  sqlite.pragma('max_page_count = 1073741823');
  await sleep(50);
  const stored = await expectRecovered(alice, bob, aliceWs, bobWs, 'full');
  figure('disk full', {
    restRefused: attempts.rest.filter((r) => r.status === 507).length,
    restAttempts: attempts.rest.length,
    wsErrorFrames: attempts.ws.filter((f) => f.type === 'error').length,
    wsSent: attempts.ws.filter((f) => f.type === 'sent').length,
    healthDuring: health.status,
    readsDuring: reads.status,
    pushedUnstored: bobWs.messages().length - stored,
    storedAfterRecovery: stored,
  });
  expect(health.status).toBe(200);
  expect(reads.status).toBe(200);
  expectRefused(attempts, 'storage_full', 507, true);
});

it('a database locked by another process answers 503 / storage_busy with Retry-After, acknowledges nothing, and recovers', async () => {
  const { alice, bob, aliceWs, bobWs } = await setup();
  lock = await holdDatabaseLock(broker.dbPath);
  const attempts = await writesDuringFailure(alice, aliceWs, 'locked');
  // A read receipt cannot be stored either: the reader hears so, and acks again later.
  bobWs.send({ type: 'ack', ref: 'ack-locked', conversationId: 'direct:alice:bob', upTo: bobWs.messages()[0]!.id });
  const ackDuring = await bobWs.frame('error', (f) => f.ref === 'ack-locked', 10_000);
  const health = await api(broker.url, 'GET', '/health');
  const reads = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages', { secret: bob.secret });
  await lock.release();
  lock = undefined;
  const stored = await expectRecovered(alice, bob, aliceWs, bobWs, 'locked');
  figure('database locked', {
    restRefused: attempts.rest.filter((r) => r.status === 503).length,
    restAttempts: attempts.rest.length,
    retryAfter: attempts.rest[0]?.retryAfter,
    wsErrorFrames: attempts.ws.filter((f) => f.type === 'error').length,
    wsSent: attempts.ws.filter((f) => f.type === 'sent').length,
    healthDuring: health.status,
    readsDuring: reads.status,
    pushedUnstored: bobWs.messages().length - stored,
    storedAfterRecovery: stored,
  });
  expect(health.status).toBe(200);
  expect(reads.status).toBe(200);
  expectRefused(attempts, 'storage_busy', 503);
  expect(ackDuring).toMatchObject({ type: 'error', code: 'storage_busy' });
  expect(attempts.rest.every((r) => r.retryAfter !== null)).toBe(true);
});
