/**
 * GET /metrics counts real traffic: messages sent over WebSocket, REST and the console, the
 * sessions, long-polls and watchers open, refused credentials by reason, loop-guard holds. A
 * broker beyond loopback serves it only with a bearer token of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigFromEnv } from '../../src/shared/config.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, WsClient } from '../helpers/clients.ts';
import { consoleApi, consoleLogin, watchAsOwner, Watcher } from '../helpers/console.ts';
import { parseSamples, rise, sample, scrape } from '../helpers/metrics.ts';
import { waitFor } from '../helpers/scale.ts';

const ACCESS_TOKEN = 'an-access-token-of-32-characters';
const METRICS_TOKEN = 'a-metrics-token-of-32-characters';

describe('GET /metrics', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('counts every message stored over each transport exactly once, and times its delivery', async () => {
    broker = await startBroker();
    const { url } = broker;
    const alice = await register(url, 'alice');
    const bob = await register(url, 'bob');
    const aliceWs = await connect(url, alice);
    const bobWs = await connect(url, bob);
    const cookie = await consoleLogin(broker, 'ada');
    const N = 7;
    const before = await scrape(url);

    for (let i = 0; i < N; i++) {
      aliceWs.send({ type: 'talk', ref: `w${i}`, to: 'bob', content: `ws ${i}`, clientMsgId: `w${i}` });
      await aliceWs.frame('sent', (f) => f.ref === `w${i}`);
      expect((await talk(url, alice, { to: 'bob', content: `rest ${i}`, clientMsgId: `r${i}` })).status).toBe(200);
      expect(
        (await consoleApi(broker, cookie, 'POST', '/console/api/talk', { to: 'alice', content: `c${i}` })).status,
      ).toBe(200);
    }
    // Retries of stored sends are answered as duplicates and not counted again.
    expect((await talk(url, alice, { to: 'bob', content: 'rest 0', clientMsgId: 'r0' })).body.duplicate).toBe(true);
    aliceWs.send({ type: 'talk', ref: 'again', to: 'bob', content: 'ws 0', clientMsgId: 'w0' });
    expect((await aliceWs.frame('sent', (f) => f.ref === 'again')).duplicate).toBe(true);
    await bobWs.until((c) => c.messages().length === 2 * N, 5_000, "bob's pushes");
    await aliceWs.until((c) => c.messages().length === N, 5_000, "alice's pushes");

    const after = await scrape(url);
    expect(
      rise(before, after, [
        'duo_messages_total{transport="ws"}',
        'duo_messages_total{transport="rest"}',
        'duo_messages_total{transport="console"}',
        'duo_delivery_seconds_count',
      ]),
    ).toEqual({
      'duo_messages_total{transport="ws"}': N,
      'duo_messages_total{transport="rest"}': N,
      'duo_messages_total{transport="console"}': N,
      // One push into a session per message: bob got the agents' messages, alice the human's.
      duo_delivery_seconds_count: 3 * N,
    });
    expect(sample(after, 'duo_db_commit_seconds_count')).toBeGreaterThan(sample(before, 'duo_db_commit_seconds_count'));
    expect(sample(after, 'duo_delivery_seconds_sum')).toBeGreaterThan(0);
    // The process's own metrics come along.
    expect(sample(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // No series names a partner, a conversation or a message.
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const secret of ['alice', 'bob', 'ada', 'direct:', 'rest 1', 'ws 1']) expect(text).not.toContain(secret);
  });

  it('follows sessions, long-polls and watchers as they open and close', async () => {
    broker = await startBroker();
    const { url } = broker;
    const alice = await register(url, 'alice');
    const bob = await register(url, 'bob');
    const gauges = async () => {
      const s = await scrape(url);
      return [sample(s, 'duo_sessions'), sample(s, 'duo_long_polls'), sample(s, 'duo_watchers')];
    };
    const until = (expected: number[], what: string) =>
      waitFor(async () => JSON.stringify(await gauges()) === JSON.stringify(expected), 5_000, what, 20);

    expect(await gauges()).toEqual([0, 0, 0]);
    const aliceWs = await connect(url, alice);
    const bobWs = await connect(url, bob);
    expect(await gauges()).toEqual([2, 0, 0]);
    // A session that is replaced is one session, not two.
    const aliceAgain = await connect(url, alice);
    await aliceWs.closed;
    await until([2, 0, 0], 'the takeover');
    bobWs.close();
    await until([1, 0, 0], "bob's session to close");

    const listening = api(url, 'GET', '/listen/bob?timeout=20', { secret: bob.secret });
    await until([1, 1, 0], 'the long-poll');
    expect((await talk(url, alice, { to: 'bob', content: 'wake up' })).status).toBe(200);
    expect((await listening).body.messages).toHaveLength(1);
    await until([1, 0, 0], 'the long-poll to end');

    const watcher = await watchAsOwner(broker);
    expect(await gauges()).toEqual([1, 0, 1]);
    watcher.close();
    await until([1, 0, 0], 'the watcher to close');
    aliceAgain.close();
    await until([0, 0, 0], 'every session to close');
  });

  it('counts refused credentials by reason', async () => {
    broker = await startBroker();
    const { url } = broker;
    const alice = await register(url, 'alice');
    const reasons = [
      'missing_secret',
      'wrong_secret',
      'owner_token',
      'console_session',
      'login_code',
      'join_token',
      'metrics_token',
    ].map((reason) => `duo_auth_failures_total{reason="${reason}"}`);
    const before = await scrape(url);

    expect((await api(url, 'GET', '/partners')).status).toBe(401);
    expect((await api(url, 'GET', '/partners', { secret: 'not-a-secret' })).status).toBe(401);
    const ws = new WsClient(url);
    await ws.opened;
    ws.send({ type: 'hello', partnerId: 'alice', secret: 'wrong', since: 0 });
    await ws.closed;
    // A new id without the owner token; the owner's routes without it.
    expect(
      (await api(url, 'POST', '/register', { body: { partnerId: 'eve' }, headers: { 'x-duo-token': '' } })).status,
    ).toBe(401);
    expect((await api(url, 'GET', '/holds')).status).toBe(401);
    expect((await api(url, 'POST', '/console/codes', { body: { partnerId: 'eve' } })).status).toBe(401);
    // The console without a session, a spent login code, and the watch stream without either credential.
    expect((await api(url, 'GET', '/console/api/me')).status).toBe(401);
    expect((await api(url, 'POST', '/console/api/session', { body: { code: 'x'.repeat(43) } })).status).toBe(401);
    await expect(new Watcher(url, {}).opened).rejects.toThrow(/401/);
    await expect(new Watcher(url, { 'x-duo-token': 'wrong' }).opened).rejects.toThrow(/401/);
    // A correct request counts nothing.
    expect((await api(url, 'GET', '/partners', { secret: alice.secret })).status).toBe(200);

    expect(rise(before, await scrape(url), reasons)).toEqual({
      'duo_auth_failures_total{reason="missing_secret"}': 1,
      'duo_auth_failures_total{reason="wrong_secret"}': 2,
      // register, /console/codes, the watch stream with a wrong token
      'duo_auth_failures_total{reason="owner_token"}': 3,
      // /holds (the owner token or a console session), /console/api/me, the watch stream without either
      'duo_auth_failures_total{reason="console_session"}': 3,
      'duo_auth_failures_total{reason="login_code"}': 1,
      'duo_auth_failures_total{reason="join_token"}': 0,
      'duo_auth_failures_total{reason="metrics_token"}': 0,
    });
  });

  it('counts the holds of the loop guard', async () => {
    broker = await startBroker({ loopGuard: '3/60s' });
    const { url } = broker;
    const alice = await register(url, 'alice');
    const bob = await register(url, 'bob');
    expect(sample(await scrape(url), 'duo_loop_guard_holds_total')).toBe(0);
    // The agents take turns until the guard holds them; the budget is 3 turns.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [from, to] = i % 2 ? [bob, 'alice'] : [alice, 'bob'];
      statuses.push((await talk(url, from, { to, content: `ping ${i}` })).status);
    }
    expect(statuses).toContain(423);
    // Every refusal after the first is the same hold.
    expect(statuses.slice(statuses.indexOf(423))).toEqual(statuses.slice(statuses.indexOf(423)).map(() => 423));
    expect(sample(await scrape(url), 'duo_loop_guard_holds_total')).toBe(1);
  });

  it('is open on a loopback bind, even when the broker has an access token', async () => {
    broker = await startBroker({ token: ACCESS_TOKEN });
    const reply = await fetch(`${broker.url}/metrics`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(parseSamples(await reply.text()).has('duo_sessions')).toBe(true);
    // Everything else still needs the access token.
    expect((await fetch(`${broker.url}/partners`)).status).toBe(401);
  });

  describe('beyond loopback', () => {
    const beyond = { host: '0.0.0.0', token: ACCESS_TOKEN, allowPlainHttp: true };

    it('without DUO_METRICS_TOKEN, answers with how to turn metrics on, whatever credential is shown', async () => {
      broker = await startBroker(beyond);
      for (const headers of [
        {} as Record<string, string>,
        { 'x-duo-token': ACCESS_TOKEN },
        { authorization: `Bearer ${ACCESS_TOKEN}` },
        { 'x-duo-token': broker.broker.ownerToken, authorization: `Bearer ${broker.broker.ownerToken}` },
      ]) {
        const reply = await api(broker.url, 'GET', '/metrics', { headers });
        expect(reply.status).toBe(401);
        expect(reply.body.code).toBe('token_required');
        expect(reply.body.error).toMatch(/DUO_METRICS_TOKEN.*Authorization: Bearer/);
      }
    });

    it('with DUO_METRICS_TOKEN, needs exactly that bearer token (not the access or owner token) and counts the failures', async () => {
      broker = await startBroker({ ...beyond, metricsToken: METRICS_TOKEN });
      const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
      for (const headers of [
        {} as Record<string, string>,
        bearer(ACCESS_TOKEN),
        bearer(broker.broker.ownerToken),
        bearer(`${METRICS_TOKEN}x`),
        { 'x-duo-token': METRICS_TOKEN },
      ]) {
        const reply = await api(broker.url, 'GET', '/metrics', { headers });
        expect(reply.status, JSON.stringify(headers)).toBe(401);
        expect(reply.body).toMatchObject({
          code: 'token_required',
          error: expect.stringMatching(/Bearer <DUO_METRICS_TOKEN>/),
        });
      }
      const samples = await scrape(broker.url, bearer(METRICS_TOKEN));
      expect(sample(samples, 'duo_auth_failures_total{reason="metrics_token"}')).toBe(5);
      // The metrics token opens nothing else.
      expect((await api(broker.url, 'GET', '/partners', { headers: bearer(METRICS_TOKEN) })).status).toBe(401);
      expect((await api(broker.url, 'GET', '/partners', { headers: { 'x-duo-token': METRICS_TOKEN } })).status).toBe(
        401,
      );
      expect(
        sample(await scrape(broker.url, bearer(METRICS_TOKEN)), 'duo_auth_failures_total{reason="join_token"}'),
      ).toBe(2);
    });

    it('refuses a metrics token equal to the access token', () => {
      const env = { BROKER_HOST: '0.0.0.0', DUO_DB: '/tmp/x.db', DUO_TOKEN: ACCESS_TOKEN, DUO_ALLOW_PLAIN_HTTP: '1' };
      expect(() => brokerConfigFromEnv({ ...env, DUO_METRICS_TOKEN: ACCESS_TOKEN })).toThrow(
        /must differ from DUO_TOKEN/,
      );
      expect(brokerConfigFromEnv({ ...env, DUO_METRICS_TOKEN: METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN);
    });
  });
});
