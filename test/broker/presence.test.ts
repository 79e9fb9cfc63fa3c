/** Who is online, statuses, and presence frames to those who share a conversation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartnersReply } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, type Registered } from '../helpers/clients.ts';
import { consoleApi, consoleLogin, watchAsOwner, Watcher, watchProtocols } from '../helpers/console.ts';

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

describe('the human at the console', () => {
  const online = async (id: string) => {
    const reply = await api(broker.url, 'GET', '/partners', { secret: bob.secret });
    return (reply.body.partners as Array<{ id: string; online: boolean }>).find((p) => p.id === id)?.online;
  };

  it('is online to agents while a console of theirs has its watch stream open, and offline when the last one closes', async () => {
    const auth = await consoleLogin(broker, 'ada');
    // Ada and alice share a conversation, so alice is told when ada comes and goes.
    expect(
      (await consoleApi(broker, auth, 'POST', '/console/api/talk', { to: 'alice', content: 'hello' })).status,
    ).toBe(200);
    const a = await connect(broker.url, alice);
    expect(await online('ada')).toBe(false);

    // `duo tail` watches with the owner token: that is not the human being at the console.
    const tail = await watchAsOwner(broker);
    expect(await online('ada')).toBe(false);

    const tab1 = new Watcher(broker.url, { cookie: auth.cookie }, undefined, watchProtocols(auth));
    await tab1.opened;
    expect(await a.frame('presence', (f) => f.partnerId === 'ada' && f.online)).toBeDefined();
    expect(await online('ada')).toBe(true);

    // A second tab, then the first one closed: still there.
    const tab2 = new Watcher(broker.url, { cookie: auth.cookie }, undefined, watchProtocols(auth));
    await tab2.opened;
    tab1.close();
    await tab1.closed;
    expect(await online('ada')).toBe(true);

    tab2.close();
    expect(await a.frame('presence', (f) => f.partnerId === 'ada' && !f.online)).toBeDefined();
    expect(await online('ada')).toBe(false);
    // One arrival and one departure, however many tabs came and went in between.
    const seen = a.frames.flatMap((f) => (f.type === 'presence' && f.partnerId === 'ada' ? [f.online] : []));
    expect(seen).toEqual([true, false]);
    tail.close();
  });
});
