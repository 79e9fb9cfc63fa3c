/** Registering a partner id and proving it with its secret. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegisterReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, register, type Registered } from '../helpers/clients.ts';

let broker: TestBroker;
let bob: Registered;

beforeEach(async () => {
  broker = await startBroker();
  await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob', { name: 'Bob the builder' });
  await register(broker.url, 'carol');
});
afterEach(async () => broker.close());

describe('register', () => {
  it('returns a secret only the first time, and the stored name sticks', async () => {
    const first = await api(broker.url, 'POST', '/register', { body: { partnerId: 'dave', name: 'Dave' } });
    expect(first.status).toBe(200);
    const reply = RegisterReply.parse(first.body);
    expect(reply).toMatchObject({ partnerId: 'dave', name: 'Dave', created: true });
    expect(reply.secret).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    const again = await api(broker.url, 'POST', '/register', { secret: reply.secret!, body: { partnerId: 'dave' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ partnerId: 'dave', name: 'Dave', created: false });
  });

  it('answers 409 id_taken to a second project claiming the same id', async () => {
    const noSecret = await api(broker.url, 'POST', '/register', { body: { partnerId: 'alice' } });
    expect(noSecret.status).toBe(409);
    expect(noSecret.body.code).toBe('id_taken');
    const wrong = await api(broker.url, 'POST', '/register', { secret: bob.secret, body: { partnerId: 'alice' } });
    expect(wrong.status).toBe(409);
  });

  it('rejects ids that are not slugs', async () => {
    for (const partnerId of ['Alice', '-x', 'a b', 'a:b', '', 'x'.repeat(65)]) {
      const reply = await api(broker.url, 'POST', '/register', { body: { partnerId } });
      expect(reply.status, partnerId).toBe(400);
      expect(reply.body.code).toBe('bad_request');
    }
  });
});
