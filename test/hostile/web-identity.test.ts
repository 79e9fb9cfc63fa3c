/**
 * Web and identity attacks, counted: foreign origins and rebinding hosts on REST and the
 * WebSocket upgrade, form and text posts, impersonation with no, wrong or someone else's
 * secret, a spoofed sender, binding beyond loopback without a token, and a flood that must not
 * slow anybody else down.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigFromEnv } from '../../src/shared/config.ts';
import { duoArgs } from '../../src/shared/entry.ts';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, WsClient } from '../helpers/clients.ts';
import { figure, percentile, sleep } from '../helpers/scale.ts';

let broker: TestBroker;
afterEach(async () => broker.close());

interface Reply {
  status: number;
  body: any;
}

/** node:http, because fetch will not send a forged Host header. */
function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // The assertion will show the raw text.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket upgrade with the given headers: the HTTP status that refused it, or 101. */
async function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  const client = new WsClient(url, headers);
  try {
    await client.opened;
    client.close();
    return 101;
  } catch (error) {
    const status = /upgrade refused: (\d+)/.exec(String(error))?.[1];
    return status === undefined ? -1 : Number(status);
  }
}

async function messageCount(b: TestBroker): Promise<number> {
  return (b.broker.database.sqlite!.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
}

describe('web pages cannot reach the broker', () => {
  it('refuses every foreign Origin (403) and rebinding Host (421) on REST and on the WebSocket upgrade', async () => {
    broker = await startBroker();
    const alice = await register(broker.url, 'alice');
    await register(broker.url, 'bob');
    const own = `127.0.0.1:${broker.port}`;
    const origins = [
      'https://evil.example',
      'http://attacker.test:8080',
      'null',
      'http://localhost.evil.example',
      'http://127.0.0.1.nip.io',
      `http://localhost:${broker.port}`,
      `http://127.0.0.1:${broker.port}`,
      'file://',
      'chrome-extension://abcdefghijklmnop',
      'HTTP://EVIL.EXAMPLE',
    ];
    const hosts = [
      'evil.example',
      `evil.example:${broker.port}`,
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      '0.0.0.0',
      '[::ffff:127.0.0.1]',
      '127.0.0.2',
      'localhost:80@evil.example',
      ' ',
    ];
    const auth = { authorization: `Bearer ${alice.secret}` };
    const json = { 'content-type': 'application/json' };
    const requests: Array<[string, string, Record<string, string>, string?]> = [
      ['GET', '/health', {}],
      ['GET', '/partners', auth],
      ['POST', '/talk', { ...auth, ...json }, JSON.stringify({ to: 'bob', content: 'from a web page' })],
      ['POST', '/register', json, JSON.stringify({ partnerId: 'webpage' })],
      ['GET', '/listen/alice?timeout=0', auth],
    ];
    const before = await messageCount(broker);
    let attempts = 0;
    const accepted: string[] = [];
    for (const origin of origins) {
      for (const [method, path, headers, body] of requests) {
        attempts += 1;
        const reply = await http(broker.port, method, path, { host: own, origin, ...headers }, body);
        if (reply.status !== 403 || reply.body.code !== 'origin_forbidden')
          accepted.push(`origin ${origin} ${method} ${path}: ${reply.status}`);
      }
      attempts += 1;
      const ws = await upgrade(broker.url, { origin });
      if (ws !== 403) accepted.push(`origin ${origin} upgrade: ${ws}`);
    }
    for (const host of hosts) {
      for (const [method, path, headers, body] of requests) {
        attempts += 1;
        const reply = await http(broker.port, method, path, { host, ...headers }, body);
        if (reply.status !== 421 || reply.body.code !== 'misdirected_host')
          accepted.push(`host ${host} ${method} ${path}: ${reply.status}`);
      }
      attempts += 1;
      const ws = await upgrade(broker.url, { host });
      if (ws !== 421) accepted.push(`host ${host} upgrade: ${ws}`);
    }
    const stored = (await messageCount(broker)) - before;
    const newcomer = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
    figure('foreign origin / rebinding host', {
      attempts,
      accepted: accepted.length,
      messagesStored: stored,
      partnersCreated: newcomer.body.partners.length - 2,
    });
    expect(accepted).toEqual([]);
    expect(stored).toBe(0);
    expect(newcomer.body.partners.map((p: { id: string }) => p.id)).toEqual(['alice', 'bob']);
    // The broker's own names still work.
    for (const host of [own, `localhost:${broker.port}`, `LOCALHOST:${broker.port}`, `[::1]:${broker.port}`]) {
      expect((await http(broker.port, 'GET', '/health', { host })).status).toBe(200);
    }
  });

  it('refuses text/plain, form and other non-JSON posts with 415', async () => {
    broker = await startBroker();
    const alice = await register(broker.url, 'alice');
    await register(broker.url, 'bob');
    const types = [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/json',
      'application/jsonx',
      'application/xml',
      'application/octet-stream',
      '',
    ];
    const bodies: Record<string, string> = {
      '/talk': JSON.stringify({ to: 'bob', content: 'csrf' }),
      '/register': JSON.stringify({ partnerId: 'csrf' }),
    };
    let attempts = 0;
    const wrong: string[] = [];
    for (const type of types) {
      for (const [path, body] of Object.entries(bodies)) {
        attempts += 1;
        const headers: Record<string, string> = {
          host: `127.0.0.1:${broker.port}`,
          authorization: `Bearer ${alice.secret}`,
        };
        if (type !== '') headers['content-type'] = type;
        const reply = await http(broker.port, 'POST', path, headers, body);
        if (reply.status !== 415 || reply.body.code !== 'unsupported_media_type')
          wrong.push(`${type || '(none)'} ${path}: ${reply.status}`);
      }
    }
    figure('non-JSON posts', { attempts, accepted: wrong.length, messagesStored: await messageCount(broker) });
    expect(wrong).toEqual([]);
    expect(await messageCount(broker)).toBe(0);
    expect((await talk(broker.url, alice, { to: 'bob', content: 'json works' })).status).toBe(200);
  });
});

describe('identity', () => {
  it('lets nobody act as someone else: no secret, a wrong one, another partner’s, or a spoofed sender field', async () => {
    broker = await startBroker({ helloTimeoutMs: 1_000 });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    await register(broker.url, 'carol');
    await talk(broker.url, alice, { to: 'bob', content: 'real' });
    const attempts: Array<[string, Promise<Reply>, number[]]> = [];
    const as = (
      secret: string | undefined,
      method: string,
      path: string,
      body?: unknown,
      extra: Record<string, string> = {},
    ) =>
      api(broker.url, method, path, {
        ...(secret === undefined ? {} : { secret }),
        ...(body === undefined ? {} : { body }),
        headers: extra,
      });
    const add = (name: string, reply: Promise<Reply>, expected: number[]) => attempts.push([name, reply, expected]);
    add('talk without a secret', as(undefined, 'POST', '/talk', { to: 'carol', content: 'x' }), [401]);
    add('talk with a wrong secret', as('not-the-secret', 'POST', '/talk', { to: 'carol', content: 'x' }), [401]);
    add(
      'talk with an empty bearer',
      as(undefined, 'POST', '/talk', { to: 'carol', content: 'x' }, { authorization: 'Bearer ' }),
      [401],
    );
    add(
      'talk with Basic auth',
      as(
        undefined,
        'POST',
        '/talk',
        { to: 'carol', content: 'x' },
        { authorization: `Basic ${Buffer.from(`alice:${alice.secret}`).toString('base64')}` },
      ),
      [401],
    );
    add(
      'talk with the secret hash',
      as(
        broker.broker.database
          .sqlite!.prepare("SELECT secret_hash FROM partners WHERE id = 'alice'")
          .pluck()
          .get() as string,
        'POST',
        '/talk',
        { to: 'carol', content: 'x' },
      ),
      [401],
    );
    add('talk with from: alice', as(bob.secret, 'POST', '/talk', { to: 'carol', content: 'x', from: 'alice' }), [400]);
    add(
      'talk with sender: alice',
      as(bob.secret, 'POST', '/talk', { to: 'carol', content: 'x', sender: 'alice' }),
      [400],
    );
    add(
      'talk with partnerId: alice',
      as(bob.secret, 'POST', '/talk', { to: 'carol', content: 'x', partnerId: 'alice' }),
      [400],
    );
    add('listen as alice with bob’s secret', as(bob.secret, 'GET', '/listen/alice?timeout=0'), [403]);
    add('peek as alice with bob’s secret', as(bob.secret, 'GET', '/listen/alice?timeout=0&peek=1'), [403]);
    add('conversations of alice with bob’s secret', as(bob.secret, 'GET', '/conversations/alice'), [403]);
    add(
      'alice’s status with bob’s secret',
      as(bob.secret, 'POST', '/partners/alice/status', { status: 'pwned' }),
      [403],
    );
    add(
      'alice’s notifications with bob’s secret',
      as(bob.secret, 'POST', '/partners/alice/notifications', { enabled: false }),
      [403],
    );
    add('unregister alice with bob’s secret', as(bob.secret, 'POST', '/unregister', { partnerId: 'alice' }), [403]);
    add(
      're-register alice without a secret',
      as(undefined, 'POST', '/register', { partnerId: 'alice', name: 'Mallory' }),
      [409],
    );
    add(
      're-register alice with bob’s secret',
      as(bob.secret, 'POST', '/register', { partnerId: 'alice', name: 'Mallory' }),
      [409],
    );
    add(
      're-register alice with a guessed secret',
      as('alice', 'POST', '/register', { partnerId: 'alice', name: 'Mallory' }),
      [409],
    );
    add(
      'history of a conversation carol is not in',
      as((await register(broker.url, 'dave')).secret, 'GET', '/conversations/direct:alice:bob/messages'),
      [403, 404],
    );
    const failures: string[] = [];
    for (const [name, reply, expected] of attempts) {
      const { status, body } = await reply;
      if (!expected.includes(status) || typeof body?.code !== 'string')
        failures.push(`${name}: ${status} ${JSON.stringify(body).slice(0, 120)}`);
    }

    // Over the WebSocket: a hello with another partner's secret, and a talk frame with a sender.
    const helloAttempts: Array<[string, Record<string, unknown>, number[]]> = [
      [
        'hello as alice with bob’s secret',
        { type: 'hello', partnerId: 'alice', secret: bob.secret, since: 0 },
        [CloseCode.unauthorized],
      ],
      [
        'hello as alice with a guessed secret',
        { type: 'hello', partnerId: 'alice', secret: 'alice', since: 0 },
        [CloseCode.unauthorized],
      ],
      [
        'hello as alice without a secret',
        { type: 'hello', partnerId: 'alice', since: 0 },
        [CloseCode.unauthorized, CloseCode.helloTimeout],
      ],
      ['hello as a stranger', { type: 'hello', partnerId: 'mallory', secret: 'x', since: 0 }, [CloseCode.unauthorized]],
    ];
    for (const [name, frame, codes] of helloAttempts) {
      const client = new WsClient(broker.url);
      await client.opened;
      client.send(frame);
      const code = await client.closed;
      if (!codes.includes(code) || client.frames.some((f) => f.type === 'welcome' || f.type === 'message'))
        failures.push(`${name}: closed ${code}, frames ${JSON.stringify(client.frames).slice(0, 120)}`);
    }
    const bobWs = await connect(broker.url, bob);
    bobWs.send({ type: 'talk', ref: 'spoof', to: 'carol', content: 'x', from: 'alice' });
    const spoof = await bobWs.frame('error', (f) => f.ref === 'spoof');
    bobWs.send({ type: 'talk', ref: 'honest', to: 'carol', content: 'from bob' });
    await bobWs.frame('sent', (f) => f.ref === 'honest');
    bobWs.close();

    const senders = broker.broker.database.sqlite!.prepare('SELECT sender, content FROM messages ORDER BY id').all();
    const alicePartner = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
    figure('impersonation', {
      attempts: attempts.length + helloAttempts.length + 1,
      accepted: failures.length + (spoof.code === 'bad_request' ? 0 : 1),
      storedMessages: senders.length,
    });
    expect(failures).toEqual([]);
    expect(spoof.code).toBe('bad_request');
    expect(senders).toEqual([
      { sender: 'alice', content: 'real' },
      { sender: 'bob', content: 'from bob' },
    ]);
    expect(alicePartner.body.partners.find((p: { id: string }) => p.id === 'alice')).toMatchObject({
      name: 'alice',
      status: null,
    });
  });
});

describe('binding beyond loopback', () => {
  it(
    'refuses to start on a non-loopback address without a token, from the config and from `duo broker`',
    { timeout: 30_000 },
    async () => {
      broker = await startBroker();
      const dir = tempDir('duo-bind-');
      const refused: string[] = [];
      for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com']) {
        try {
          brokerConfigFromEnv({ BROKER_HOST: host, DUO_DB: join(dir, 'x.db') });
        } catch (error) {
          if (/DUO_TOKEN/.test(String(error))) refused.push(host);
        }
      }
      // With the token it starts, given TLS or (as here) plain HTTP allowed: test/broker/tls.test.ts.
      const tokenAndPlain = { DUO_TOKEN: 't'.repeat(32), DUO_ALLOW_PLAIN_HTTP: '1' };
      expect(brokerConfigFromEnv({ BROKER_HOST: '0.0.0.0', DUO_DB: join(dir, 'x.db'), ...tokenAndPlain }).host).toBe(
        '0.0.0.0',
      );

      const run = (args: string[], env: Record<string, string> = {}) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, duoArgs('broker', ...args), {
            env: { ...process.env, DUO_DB: join(dir, 'cli.db'), BROKER_PORT: '0', DUO_TOKEN: '', ...env },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.on('exit', (code) => {
            clearTimeout(timer);
            resolve({ code, stderr });
          });
        });
      const byFlag = await run(['--host', '0.0.0.0']);
      const byEnv = await run([], { BROKER_HOST: '0.0.0.0' });
      figure('non-loopback bind without token', {
        configRefused: `${refused.length}/5`,
        cliFlagExit: byFlag.code,
        cliEnvExit: byEnv.code,
        message: JSON.stringify(byFlag.stderr.trim().split('\n')[0]?.slice(0, 90)),
      });
      expect(refused).toHaveLength(5);
      for (const result of [byFlag, byEnv]) {
        expect(result.code).not.toBe(0);
        expect(result.code).not.toBeNull();
        expect(result.stderr).toMatch(/DUO_TOKEN/);
        expect(result.stderr).not.toMatch(/\n\s+at\s/);
      }
    },
  );
});

describe('flooding', () => {
  it(
    'answers a flood with 429 and Retry-After while another partner keeps a low latency',
    { timeout: 30_000 },
    async () => {
      broker = await startBroker({ rateLimit: 50, rateBurst: 200 });
      const mallory = await register(broker.url, 'mallory');
      await register(broker.url, 'alice');
      const bob = await register(broker.url, 'bob');
      let flooding = true;
      const flood = { ok: 0, limited: 0, withRetryAfter: 0, other: 0 };
      const floodWorker = async () => {
        while (flooding) {
          const reply = await talk(broker.url, mallory, { to: 'alice', content: 'spam' });
          if (reply.status === 200) flood.ok += 1;
          else if (reply.status === 429) {
            flood.limited += 1;
            if (Number(reply.headers.get('retry-after')) >= 1 && reply.body.code === 'rate_limited')
              flood.withRetryAfter += 1;
          } else flood.other += 1;
        }
      };
      const workers = Array.from({ length: 16 }, floodWorker);
      // A WebSocket flood from the same partner at the same time.
      const malloryWs = await connect(broker.url, mallory);
      for (let i = 0; i < 400; i++) malloryWs.send({ type: 'talk', ref: `w${i}`, to: 'alice', content: 'spam' });

      const latencies: number[] = [];
      const honest = { ok: 0, refused: 0 };
      const started = Date.now();
      while (Date.now() - started < 3_000) {
        const t = performance.now();
        const reply = await talk(broker.url, bob, { to: 'alice', content: `honest ${honest.ok}` });
        latencies.push(performance.now() - t);
        if (reply.status === 200) honest.ok += 1;
        else honest.refused += 1;
        await sleep(20);
      }
      flooding = false;
      await Promise.all(workers);
      await malloryWs.until(
        (c) =>
          c.frames.filter((f) => (f.type === 'sent' || f.type === 'error') && f.ref?.startsWith('w')).length >= 400 ||
          c.closeCode !== undefined,
        10_000,
        'ws flood answered',
      );
      const wsLimited = malloryWs.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
      malloryWs.close();
      figure('flood', {
        floodRequests: flood.ok + flood.limited + flood.other,
        floodAccepted: flood.ok,
        flood429: flood.limited,
        with429RetryAfter: flood.withRetryAfter,
        wsFramesLimited: wsLimited,
        wsClosed: malloryWs.closeCode ?? 'no',
        otherPartnerRequests: honest.ok + honest.refused,
        otherPartnerRefused: honest.refused,
        otherPartnerP50ms: percentile(latencies, 50),
        otherPartnerP95ms: percentile(latencies, 95),
      });
      expect(flood.limited).toBeGreaterThan(0);
      expect(flood.withRetryAfter).toBe(flood.limited);
      expect(flood.other).toBe(0);
      expect(wsLimited > 0 || malloryWs.closeCode === CloseCode.rateLimited).toBe(true);
      expect(honest.refused).toBe(0);
    },
  );
});
