/** Who is online, statuses, and presence frames to those who share a conversation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartnersReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';

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

describe('partners and presence', () => {
  it('lists partners without paths, with status', async () => {
    await api(broker.url, 'POST', '/partners/bob/status', { secret: bob.secret, body: { status: 'refactoring auth' } });
    const list = PartnersReply.parse((await api(broker.url, 'GET', '/partners', { secret: alice.secret })).body);
    expect(list.partners.map((p) => p.id)).toEqual(['alice', 'bob', 'carol']);
    expect(list.partners.find((p) => p.id === 'bob')).toMatchObject({
      name: 'Bob the builder',
      status: 'refactoring auth',
      online: false,
    });
    expect(JSON.stringify(list)).not.toContain('project');
  });

  it('pushes presence to partners who share a conversation', async () => {
    await talk(broker.url, alice, { to: 'bob', content: 'hi' });
    const a = await connect(broker.url, alice);
    const b = await connect(broker.url, bob);
    expect(await a.frame('presence', (f) => f.partnerId === 'bob' && f.online)).toBeDefined();
    b.close();
    expect(await a.frame('presence', (f) => f.partnerId === 'bob' && !f.online)).toBeDefined();
    const partners = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
    expect(partners.body.partners.find((p: { id: string }) => p.id === 'alice').online).toBe(true);
    a.close();
  });
});
