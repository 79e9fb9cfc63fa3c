/**
 * Failed authentication: the secret is checked before the body is read, and failures from one
 * address are throttled (429 with Retry-After past a small burst), REST and WebSocket alike,
 * while a partner with the right secret is served as usual.
 */
import { afterEach, expect, it } from 'vitest';
import { AUTH_FAILURE_BURST, AUTH_FAILURES_PER_SECOND } from '../../src/shared/limits.ts';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { register, talk, WsClient } from '../helpers/clients.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { figure } from '../helpers/scale.ts';

let broker: TestBroker;
afterEach(async () => broker.close());

const ATTEMPTS = 300;
const BODY = JSON.stringify({ to: 'bob', content: 'x'.repeat(60_000) });

/** Most failures that can get a 401 within `ms`: the burst plus what refills meanwhile. */
function most401(ms: number): number {
  return AUTH_FAILURE_BURST + Math.ceil((ms / 1000) * AUTH_FAILURES_PER_SECOND) + 1;
}

it(`answers ${ATTEMPTS} concurrent wrong-secret /talk with 60 KB bodies mostly with 429, and serves the right secret`, async () => {
  broker = await startBroker();
  const alice = await register(broker.url, 'alice');
  await register(broker.url, 'bob');
  const started = Date.now();
  const replies = await Promise.all(
    Array.from({ length: ATTEMPTS }, (_, i) =>
      fetch(`${broker.url}/talk`, {
        method: 'POST',
        headers: { authorization: `Bearer wrong-${i}`, 'content-type': 'application/json' },
        body: BODY,
      }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() })),
    ),
  );
  const ms = Date.now() - started;
  const honest = await talk(broker.url, alice, { to: 'bob', content: 'still served' });
  const byStatus: Record<number, number> = {};
  for (const r of replies) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const limited = replies.filter((r) => r.status === 429);
  figure('wrong-secret flood', { attempts: ATTEMPTS, ms, ...byStatus, rightSecret: honest.status });
  expect(Object.keys(byStatus).sort()).toEqual(['401', '429']);
  expect(byStatus[401]).toBeLessThanOrEqual(most401(ms));
  expect(limited.every((r) => Number(r.retryAfter) >= 1 && r.body.code === 'rate_limited')).toBe(true);
  expect(honest.status).toBe(200);
});

it('checks the secret before reading the body: a wrong secret is refused whatever the body, without waiting for it', async () => {
  broker = await startBroker();
  const wrong = { authorization: 'Bearer wrong' };
  const invalidJson = await fetch(`${broker.url}/talk`, {
    method: 'POST',
    headers: { ...wrong, 'content-type': 'application/json' },
    body: '{nope',
  });
  const textPlain = await fetch(`${broker.url}/talk`, {
    method: 'POST',
    headers: { ...wrong, 'content-type': 'text/plain' },
    body: 'hello',
  });
  // Headers that announce a 60 KB body that never comes.
  const bodiless = await rawRequest(
    broker.port,
    `POST /talk HTTP/1.1\r\nHost: 127.0.0.1:${broker.port}\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\nContent-Length: 60000\r\nConnection: close\r\n\r\n`,
    3_000,
  );
  figure('auth before body', {
    invalidJson: invalidJson.status,
    textPlain: textPlain.status,
    bodyNeverSent: bodiless.status ?? 'no answer',
    answeredInMs: bodiless.ms,
  });
  expect(invalidJson.status).toBe(401);
  expect(textPlain.status).toBe(401);
  expect(bodiless.status).toBe(401);
  expect(JSON.parse(bodiless.body).code).toBe('unauthorized');
});

it('throttles wrong-secret hellos per address too: past the burst they close with 4029', async () => {
  broker = await startBroker();
  await register(broker.url, 'alice');
  const codes: number[] = [];
  const started = Date.now();
  for (let i = 0; i < AUTH_FAILURE_BURST * 2; i++) {
    const client = new WsClient(broker.url);
    await client.opened;
    client.send({ type: 'hello', partnerId: 'alice', secret: `wrong-${i}`, since: 0 });
    codes.push(await client.closed);
  }
  const refused = codes.filter((c) => c === CloseCode.unauthorized).length;
  const limited = codes.filter((c) => c === CloseCode.rateLimited).length;
  figure('wrong-secret hellos', { attempts: codes.length, closed4003: refused, closed4029: limited });
  expect(refused + limited).toBe(codes.length);
  expect(refused).toBeLessThanOrEqual(most401(Date.now() - started));
  expect(limited).toBeGreaterThan(0);
});
