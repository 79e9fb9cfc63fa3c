import SQLite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;
let bob: Registered;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
  await talk(broker.url, alice, { to: 'bob', content: 'warm-up' });
});
afterEach(async () => broker.close());

async function readAll(): Promise<string[]> {
  const reply = await api(broker.url, 'GET', '/conversations/direct:alice:bob/messages?limit=500', {
    secret: bob.secret,
  });
  return reply.body.messages.map((m: { content: string }) => m.content);
}

describe('disk full', () => {
  it('answers 507 without acknowledging, keeps running, and recovers when space returns', async () => {
    const sqlite = broker.broker.database.sqlite!;
    const pages = sqlite.pragma('page_count', { simple: true }) as number;
    sqlite.pragma(`max_page_count = ${pages}`);

    const outcomes: Array<{ status: number; code?: string; content: string }> = [];
    for (let i = 0; i < 200; i++) {
      const content = `${i}:${'x'.repeat(2000)}`;
      const reply = await talk(broker.url, alice, { to: 'bob', content });
      outcomes.push({ status: reply.status, code: reply.body.code, content });
    }
    const refused = outcomes.filter((o) => o.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((o) => o.status === 507 && o.code === 'storage_full')).toBe(true);

    const ws = await connect(broker.url, alice);
    ws.send({ type: 'talk', ref: 'full', to: 'bob', content: 'y'.repeat(4000) });
    expect(await ws.frame('error', (f) => f.ref === 'full')).toMatchObject({ code: 'storage_full' });

    sqlite.pragma('max_page_count = 1073741823');
    const after = await talk(broker.url, alice, { to: 'bob', content: 'space is back' });
    expect(after.status).toBe(200);

    const stored = await readAll();
    const acked = outcomes.filter((o) => o.status === 200).map((o) => o.content);
    expect(stored).toEqual(['warm-up', ...acked, 'space is back']);
    ws.close();
  });
});

describe('database locked by another connection', () => {
  it('answers 503 with Retry-After while the lock is held, and succeeds after', async () => {
    const other = new SQLite(broker.dbPath);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const reply = await talk(broker.url, alice, { to: 'bob', content: 'blocked' });
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('storage_busy');
      expect(reply.headers.get('retry-after')).toBe('1');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await talk(broker.url, alice, { to: 'bob', content: 'unblocked' })).status).toBe(200);
    expect(await readAll()).toEqual(['warm-up', 'unblocked']);
    expect((await api(broker.url, 'GET', '/health')).status).toBe(200);
  });
});
