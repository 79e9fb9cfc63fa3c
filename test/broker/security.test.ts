import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/broker/db.ts';
import { brokerConfigFromEnv } from '../../src/shared/config.ts';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk, WsClient } from '../helpers/clients.ts';

/** fetch() will not send a forged Host header; node:http will. */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const brokers: TestBroker[] = [];
async function broker(overrides: Parameters<typeof startBroker>[0] = {}): Promise<TestBroker> {
  const started = await startBroker(overrides);
  brokers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

describe('web pages cannot reach the broker', () => {
  it('refuses a foreign Origin with 403 on REST and on the WebSocket upgrade', async () => {
    const b = await broker();
    const rest = await api(b.url, 'GET', '/health', { headers: { origin: 'https://evil.example' } });
    expect(rest.status).toBe(403);
    expect(rest.body.code).toBe('origin_forbidden');
    const ws = new WsClient(b.url, { origin: 'https://evil.example' });
    await expect(ws.opened).rejects.toThrow(/403/);
  });

  it('refuses a rebinding Host with 421 on REST and on the WebSocket upgrade', async () => {
    const b = await broker();
    const rest = await rawGet(b.port, '/health', { host: 'attacker.example' });
    expect(rest.status).toBe(421);
    expect(JSON.parse(rest.body).code).toBe('misdirected_host');
    const ws = new WsClient(b.url, { host: 'attacker.example' });
    await expect(ws.opened).rejects.toThrow(/421/);
  });

  it('accepts an origin that was explicitly allowed, and loopback host names', async () => {
    const b = await broker({ allowedOrigins: ['http://localhost:5173'] });
    expect((await api(b.url, 'GET', '/health', { headers: { origin: 'http://localhost:5173' } })).status).toBe(200);
    expect((await rawGet(b.port, '/health', { host: `localhost:${b.port}` })).status).toBe(200);
    expect((await rawGet(b.port, '/health', { host: '[::1]' })).status).toBe(200);
  });

  it('accepts only JSON bodies: text/plain and form posts get 415', async () => {
    const b = await broker();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const reply = await api(b.url, 'POST', '/register', {
        body: 'partnerId=alice',
        headers: { 'content-type': type },
      });
      expect(reply.status, type).toBe(415);
      expect(reply.body.code).toBe('unsupported_media_type');
    }
  });
});

describe('input limits', () => {
  it('rejects oversized bodies with 413 and oversized messages with 400', async () => {
    const b = await broker();
    const alice = await register(b.url, 'alice');
    await register(b.url, 'bob');
    const huge = await talk(b.url, alice, { to: 'bob', content: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    const long = await talk(b.url, alice, { to: 'bob', content: 'x'.repeat(65 * 1024) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/64/);
  });

  it('closes a socket that sends an oversized frame with 1009', async () => {
    const b = await broker();
    const alice = await register(b.url, 'alice');
    const client = await connect(b.url, alice);
    client.sendRaw('x'.repeat(300 * 1024));
    expect(await client.closed).toBe(1009);
  });

  it('answers unknown routes and bad JSON with the error envelope and no stack trace', async () => {
    const b = await broker();
    const missing = await api(b.url, 'GET', '/admin');
    expect(missing.status).toBe(404);
    expect(Object.keys(missing.body).sort()).toEqual(['code', 'error']);
    const bad = await api(b.url, 'POST', '/register', {
      body: '{"partnerId":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_json');
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.ts|node_modules/);
  });

  it('does not coerce types in queries or bodies', async () => {
    const b = await broker();
    const alice = await register(b.url, 'alice');
    await register(b.url, 'bob');
    expect((await talk(b.url, alice, { to: 'bob', content: 42 })).status).toBe(400);
    expect((await api(b.url, 'GET', '/listen/alice?timeout=soon', { secret: alice.secret })).status).toBe(400);
    expect((await api(b.url, 'GET', '/listen/alice?timeout=1&extra=1', { secret: alice.secret })).status).toBe(400);
    expect(
      (await api(b.url, 'POST', '/partners/alice/notifications', { secret: alice.secret, body: { enabled: 'yes' } }))
        .status,
    ).toBe(400);
  });
});

describe('identity', () => {
  it('refuses requests without a secret or with a wrong one', async () => {
    const b = await broker();
    await register(b.url, 'alice');
    expect((await api(b.url, 'GET', '/partners')).status).toBe(401);
    expect((await api(b.url, 'GET', '/partners', { secret: 'guess' })).status).toBe(401);
    expect((await api(b.url, 'POST', '/talk', { secret: 'guess', body: { to: 'alice', content: 'x' } })).status).toBe(
      401,
    );
  });
});

describe('access token', () => {
  it('demands X-Duo-Token on every request and the upgrade when a token is set', async () => {
    const token = 'correct-horse-battery-staple';
    const b = await broker({ token });
    // (api() sends the owner token on /register unless told otherwise; the owner's token lets a request in too.)
    const none = await api(b.url, 'POST', '/register', {
      body: { partnerId: 'alice' },
      headers: { 'x-duo-token': '' },
    });
    expect(none.status).toBe(401);
    const ok = await api(b.url, 'POST', '/register', {
      body: { partnerId: 'alice' },
      headers: { 'x-duo-token': token },
    });
    expect(ok.status).toBe(200);
    expect((await api(b.url, 'GET', '/health')).status).toBe(200);
    await expect(new WsClient(b.url).opened).rejects.toThrow(/401/);
    const client = new WsClient(b.url, { 'x-duo-token': token });
    await client.opened;
    client.close();
  });

  it('refuses to bind beyond loopback without a token', () => {
    expect(() => brokerConfigFromEnv({ BROKER_HOST: '0.0.0.0', DUO_DB: '/tmp/x.db' })).toThrow(/DUO_TOKEN/);
    // With the token, plain HTTP beyond loopback still needs saying so (TLS is tested in tls.test.ts).
    const plain = { BROKER_HOST: '0.0.0.0', DUO_DB: '/tmp/x.db', DUO_TOKEN: 'a'.repeat(32), DUO_ALLOW_PLAIN_HTTP: '1' };
    expect(brokerConfigFromEnv(plain).host).toBe('0.0.0.0');
    expect(brokerConfigFromEnv({ DUO_DB: '/tmp/x.db' }).host).toBe('127.0.0.1');
  });
});

describe('rate limits', () => {
  it('answers a flood with 429 and Retry-After, per partner', async () => {
    const b = await broker({ rateLimit: 5, rateBurst: 10 });
    const alice = await register(b.url, 'alice');
    const bob = await register(b.url, 'bob');
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => api(b.url, 'GET', '/partners', { secret: alice.secret })),
    );
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited[0]!.body.code).toBe('rate_limited');
    expect((await api(b.url, 'GET', '/partners', { secret: bob.secret })).status).toBe(200);
  });

  it('answers a frame flood with rate_limited error frames', async () => {
    const b = await broker({ rateLimit: 5, rateBurst: 10 });
    const alice = await register(b.url, 'alice');
    await register(b.url, 'bob');
    const client = await connect(b.url, alice);
    for (let i = 0; i < 30; i++) client.send({ type: 'talk', ref: `r${i}`, to: 'bob', content: `m${i}` });
    await client.frame('error', (f) => f.code === 'rate_limited');
    client.close();
  });
});

describe('one broker per database', () => {
  it('refuses to open a database another live broker holds', async () => {
    const b = await broker();
    await expect(openDatabase(b.dbPath)).rejects.toThrow(/Another broker/);
  });

  it('takes over a lock left by a dead process', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'duo.db');
    writeFileSync(`${dbPath}.lock`, '999999');
    const db = await openDatabase(dbPath);
    await db.close();
  });
});

describe('close codes', () => {
  it('documents a takeover close as 4001', () => {
    expect(CloseCode.replaced).toBe(4001);
  });
});
