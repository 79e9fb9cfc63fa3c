import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Logins } from '../../src/broker/console/logins.ts';
import type { ConsoleStore } from '../../src/broker/console/store.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { consoleApi, consoleLogin, mintLogin } from '../helpers/console.ts';
import { api, connect, register, talk } from '../helpers/clients.ts';

let broker: TestBroker;
afterEach(async () => broker?.close());

const rows = (b: TestBroker, sql: string) => b.broker.database.sqlite!.prepare(sql).all() as any[];

describe('logging in', () => {
  it('mints a login only for the owner, and refuses an agent id as the human', async () => {
    broker = await startBroker();
    await register(broker.url, 'alice');
    const body = { partnerId: 'ada' };
    expect((await api(broker.url, 'POST', '/console/codes', { body })).status).toBe(401);
    const wrong = await api(broker.url, 'POST', '/console/codes', { body, headers: { 'x-duo-token': 'x'.repeat(43) } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/owner token/);
    const agent = await api(broker.url, 'POST', '/console/codes', {
      body: { partnerId: 'alice' },
      headers: { 'x-duo-token': broker.broker.ownerToken },
    });
    expect(agent.status).toBe(409);
    expect(agent.body.error).toMatch(/duo web --as <id>/);
    const login = await mintLogin(broker, 'ada', 'Ada Lovelace');
    expect(login.path).toBe(`/console/login#code=${login.code}`);
    expect(login.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rows(broker, "SELECT id, name, kind FROM partners WHERE id = 'ada'")).toEqual([
      { id: 'ada', name: 'Ada Lovelace', kind: 'human' },
    ]);
  });

  it('trades a code once for an HttpOnly, SameSite=Strict cookie and a page key, stored only hashed together', async () => {
    broker = await startBroker({ loopGuard: '20/5m' });
    const { code } = await mintLogin(broker);
    const first = await api(broker.url, 'POST', '/console/api/session', { body: { code } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ partnerId: 'ada', name: 'ada' });
    const cookie = first.headers.get('set-cookie')!;
    expect(cookie).toMatch(
      new RegExp(`^duo_console_${broker.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200$`),
    );
    const value = cookie.split(';')[0]!.split('=')[1]!;
    const pageKey = first.body.pageKey as string;
    expect(pageKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = rows(broker, 'SELECT token_hash FROM console_sessions');
    expect(stored).toEqual([{ token_hash: createHash('sha256').update(`${value}.${pageKey}`).digest('hex') }]);
    const auth = { cookie: cookie.split(';')[0]!, 'x-duo-session': pageKey };

    const second = await api(broker.url, 'POST', '/console/api/session', { body: { code } });
    expect(second.status).toBe(401);
    expect(second.body.error).toMatch(/already used or has expired.*duo web/);
    expect(second.headers.get('set-cookie')).toBeNull();

    const me = await consoleApi(broker, auth, 'GET', '/console/api/me');
    expect(me.body).toMatchObject({ partnerId: 'ada', loopGuard: { limit: 20, windowSeconds: 300 } });
    const out = await consoleApi(broker, auth, 'POST', '/console/api/logout', {});
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await consoleApi(broker, auth, 'GET', '/console/api/me')).status).toBe(401);
  });

  it('lets a code expire and a session end', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const sessions: any[] = [];
    const store = {
      insertSession: async (row: any) => void sessions.push(row),
      findSession: async (hash: string) => sessions.find((s) => s.token_hash === hash),
    } as unknown as ConsoleStore;
    const logins = new Logins(store, () => new Date(now));
    const late = logins.mint('ada');
    now += 2 * 60_000;
    await expect(logins.redeem(late.code)).rejects.toThrow(/already used or has expired/);
    const { token, pageKey } = await logins.redeem(logins.mint('ada').code);
    const request = (cookie: string) =>
      ({ headers: { host: 'localhost:3210', cookie, 'x-duo-session': pageKey } }) as any;
    expect(await logins.session(request(`duo_console_3210=${token}`))).toMatchObject({ partnerId: 'ada' });
    expect(await logins.session(request(`duo_console_4000=${token}`))).toBeUndefined();
    now += 12 * 3_600_000;
    expect(await logins.session(request(`duo_console_3210=${token}`))).toBeUndefined();
  });
});

describe('the console API', () => {
  it('needs the session cookie, and accepts the broker’s own origin only on console routes', async () => {
    broker = await startBroker();
    const alice = await register(broker.url, 'alice');
    const login = await consoleLogin(broker);
    const own = `http://127.0.0.1:${broker.port}`;
    expect((await api(broker.url, 'GET', '/console/api/conversations')).status).toBe(401);
    expect((await consoleApi(broker, { cookie: 'duo_console_1=x' }, 'GET', '/console/api/conversations')).status).toBe(
      401,
    );
    expect((await consoleApi(broker, login, 'GET', '/console/api/conversations')).status).toBe(200);
    const ownPost = await consoleApi(
      broker,
      login,
      'POST',
      '/console/api/talk',
      { to: 'alice', content: 'hi' },
      {
        origin: own,
      },
    );
    expect(ownPost.status).toBe(200);
    for (const origin of ['http://localhost:1', `http://localhost:${broker.port}`, 'https://evil.example', 'null']) {
      const reply = await consoleApi(
        broker,
        login,
        'POST',
        '/console/api/talk',
        { to: 'alice', content: 'x' },
        {
          origin,
        },
      );
      expect(reply.status, origin).toBe(403);
    }
    // The same origin is still refused everywhere else, with or without a cookie.
    const partners = await api(broker.url, 'GET', '/partners', {
      secret: alice.secret,
      headers: { origin: own, ...login },
    });
    expect(partners.status).toBe(403);
    const crossSite = await consoleApi(broker, login, 'GET', '/console/api/me', undefined, {
      'sec-fetch-site': 'same-site',
    });
    expect(crossSite.status).toBe(403);
    const form = await consoleApi(broker, login, 'POST', '/console/api/talk', 'to=alice&content=x', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: own,
    });
    expect(form.status).toBe(415);
    expect(rows(broker, 'SELECT content FROM messages')).toEqual([{ content: 'hi' }]);
  });

  it('sends as the human to a partner and into a group (joining it), never into two agents’ direct conversation', async () => {
    broker = await startBroker();
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const login = await consoleLogin(broker);
    const socket = await connect(broker.url, alice);
    const direct = await consoleApi(broker, login, 'POST', '/console/api/talk', { to: 'alice', content: 'Status?' });
    expect(direct.body).toMatchObject({ conversationId: 'direct:ada:alice', duplicate: false });
    const pushed = await socket.frame('message');
    expect(pushed.message).toMatchObject({ from: 'ada', content: 'Status?' });

    await talk(broker.url, alice, { to: 'bob', content: 'agents only' });
    const intrude = await consoleApi(broker, login, 'POST', '/console/api/talk', {
      conversationId: 'direct:alice:bob',
      content: 'x',
    });
    expect(intrude.status).toBe(403);
    expect(intrude.body.error).toMatch(/direct conversation of alice and bob/);

    const group = await api(broker.url, 'POST', '/conversations', {
      secret: bob.secret,
      body: { name: 'Agents', participants: ['alice'] },
    });
    const id = group.body.conversation.id;
    const joined = await consoleApi(broker, login, 'POST', '/console/api/talk', {
      conversationId: id,
      content: 'me too',
    });
    expect(joined.status).toBe(200);
    const list = await api(broker.url, 'GET', '/conversations/bob', { secret: bob.secret });
    expect(list.body.conversations.find((c: any) => c.id === id).members).toEqual(['ada', 'alice', 'bob']);

    const made = await consoleApi(broker, login, 'POST', '/console/api/conversations', {
      name: 'Planning',
      participants: ['alice', 'bob'],
    });
    expect(made.body.conversation).toMatchObject({ name: 'Planning', members: ['ada', 'alice', 'bob'] });
    socket.close();
  });

  it('lists every conversation a page at a time, with members, unread counts, previews and holds', async () => {
    broker = await startBroker({ loopGuard: '2/60s' });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    await register(broker.url, 'carol');
    const login = await consoleLogin(broker);
    await talk(broker.url, alice, { to: 'carol', content: 'first' });
    await talk(broker.url, alice, { to: 'bob', content: 'a'.repeat(1000) });
    await talk(broker.url, bob, { to: 'alice', content: 'second' });
    await talk(broker.url, alice, { to: 'bob', content: 'held' });
    await consoleApi(broker, login, 'POST', '/console/api/talk', { to: 'alice', content: 'from ada' });

    const first = await consoleApi(broker, login, 'GET', '/console/api/conversations?limit=2');
    expect(first.body.total).toBe(3);
    expect(first.body.conversations.map((c: any) => c.id)).toEqual(['direct:ada:alice', 'direct:alice:bob']);
    const [mine, agents] = first.body.conversations;
    expect(mine).toMatchObject({ unread: 0, preview: { from: 'ada', content: 'from ada' }, hold: null });
    expect(agents).toMatchObject({
      unread: null,
      members: [
        { id: 'alice', unread: 1 },
        { id: 'bob', unread: 1 },
      ],
      preview: { from: 'bob', content: 'second' },
      hold: { conversationId: 'direct:alice:bob', messages: 2, windowSeconds: 60 },
    });
    const second = await consoleApi(
      broker,
      login,
      'GET',
      `/console/api/conversations?limit=2&after=${first.body.next}`,
    );
    expect(second.body.conversations.map((c: any) => c.id)).toEqual(['direct:alice:carol']);
    expect(second.body.next).toBeNull();

    const history = await consoleApi(
      broker,
      login,
      'GET',
      '/console/api/conversations/direct:bob:alice/messages?limit=1',
    );
    expect(history.body).toMatchObject({ hasMore: true, messages: [{ content: 'second' }] });
    const older = await consoleApi(
      broker,
      login,
      'GET',
      `/console/api/conversations/direct:alice:bob/messages?before=${history.body.messages[0].id}`,
    );
    expect(older.body.messages[0].content).toHaveLength(1000);

    const partners = await consoleApi(broker, login, 'GET', '/console/api/partners?limit=2');
    expect(partners.body.partners.map((p: any) => [p.id, p.kind])).toEqual([
      ['ada', 'human'],
      ['alice', 'agent'],
    ]);
    const rest = await consoleApi(broker, login, 'GET', `/console/api/partners?after=${partners.body.next}`);
    expect(rest.body).toMatchObject({ partners: [{ id: 'bob' }, { id: 'carol' }], next: null });
    expect(JSON.stringify(partners.body)).not.toMatch(/secret/);

    const read = await consoleApi(broker, login, 'POST', '/console/api/conversations/direct:ada:alice/read', {
      upTo: 5,
    });
    expect(read.status).toBe(200);
    const one = await consoleApi(broker, login, 'GET', '/console/api/conversations/direct:alice:carol');
    expect(one.body.conversation.members).toEqual([
      { id: 'alice', unread: 0 },
      { id: 'carol', unread: 1 },
    ]);
  });

  it('serves the console with headers that keep it in its place', async () => {
    broker = await startBroker();
    const page = await fetch(`${broker.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const html = await page.text();
    expect(html).not.toMatch(/<script>|\sstyle=|\son[a-z]+=/i);
    expect((await fetch(`${broker.url}/console/app.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    const api404 = await fetch(`${broker.url}/health`);
    expect(api404.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${broker.url}/console/../package.json`)).status).toBe(404);
  });
});
