/** The REST adapter: acting only as yourself, unregistering, health. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let alice: Registered;

beforeEach(async () => {
  broker = await startBroker();
  alice = await register(broker.url, 'alice');
  await register(broker.url, 'bob', { name: 'Bob the builder' });
  await register(broker.url, 'carol');
});
afterEach(async () => broker.close());

describe('partners and settings', () => {
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
