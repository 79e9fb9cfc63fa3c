/**
 * A console session another local server cannot replay. Cookies ignore ports, so any server on
 * localhost that the human's browser visits receives the console's cookie; the session also
 * needs the page key the console tab keeps in sessionStorage, so the cookie alone reads nothing,
 * on the API or the watch stream. Logging out closes the session's open watch sockets; guessed
 * owner tokens and forged sessions are throttled per address; under TLS the cookie is `Secure`
 * and carries the `__Host-` prefix.
 */
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { api } from '../helpers/clients.ts';
import { consoleApi, consoleLogin, Watcher, watchProtocols } from '../helpers/console.ts';
import { makeCertificate, opensslMissing } from '../helpers/tls-cert.ts';
import { AUTH_FAILURE_BURST } from '../../src/shared/limits.ts';
import { CloseCode } from '../../src/shared/protocol.ts';

let broker: TestBroker;
afterEach(async () => broker?.close());

/** Whether a watch upgrade with these headers and subprotocols opens, or its refusal status. */
async function watchStatus(headers: Record<string, string>, protocols: string[] = []): Promise<number> {
  const watcher = new Watcher(broker.url, headers, undefined, protocols);
  return watcher.opened.then(
    () => {
      watcher.close();
      return 101;
    },
    (error: Error) => Number(/refused: (\d+)/.exec(error.message)?.[1]),
  );
}

describe('replaying the cookie alone', () => {
  it('reads nothing from the API: the page key is needed, and only the one of that session', async () => {
    broker = await startBroker();
    const auth = await consoleLogin(broker);
    const other = await consoleLogin(broker, 'grace');
    expect((await consoleApi(broker, auth, 'GET', '/console/api/me')).status).toBe(200);
    const cookieOnly = await consoleApi(broker, { cookie: auth.cookie }, 'GET', '/console/api/me');
    expect(cookieOnly).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(cookieOnly.body.error).toMatch(/duo web/);
    const keyOnly = await consoleApi(broker, { 'x-duo-session': auth['x-duo-session'] }, 'GET', '/console/api/me');
    expect(keyOnly.status).toBe(401);
    // Another session's key does not complete this cookie.
    const mixed = await consoleApi(
      broker,
      { cookie: auth.cookie, 'x-duo-session': other['x-duo-session'] },
      'GET',
      '/console/api/conversations',
    );
    expect(mixed.status).toBe(401);
    const talk = await consoleApi(broker, { cookie: auth.cookie }, 'POST', '/console/api/talk', {
      to: 'grace',
      content: 'replayed',
    });
    expect(talk.status).toBe(401);
  });

  it('opens no watch stream: the key travels as a subprotocol, and the answer never echoes it', async () => {
    broker = await startBroker();
    const auth = await consoleLogin(broker);
    expect(await watchStatus({ cookie: auth.cookie })).toBe(401);
    expect(await watchStatus({ cookie: auth.cookie }, ['duo-watch'])).toBe(401);
    expect(await watchStatus({ cookie: auth.cookie }, ['duo-watch', 'duo-session.forged'])).toBe(401);
    const watcher = new Watcher(broker.url, { cookie: auth.cookie }, undefined, watchProtocols(auth));
    await watcher.opened;
    expect(watcher.socket.protocol).toBe('duo-watch');
    watcher.close();
  });
});

describe('logging out', () => {
  it("closes that session's open watch sockets, and only those", async () => {
    broker = await startBroker();
    const auth = await consoleLogin(broker);
    const other = await consoleLogin(broker, 'grace');
    const mine = new Watcher(broker.url, { cookie: auth.cookie }, undefined, watchProtocols(auth));
    const theirs = new Watcher(broker.url, { cookie: other.cookie }, undefined, watchProtocols(other));
    await Promise.all([mine.opened, theirs.opened]);
    await mine.until((w) => w.frames.length > 0, 'the watching frame');
    const out = await consoleApi(broker, auth, 'POST', '/console/api/logout', {});
    expect(out.body).toEqual({ loggedOut: true });
    expect(await mine.closed).toBe(CloseCode.sessionEnded);
    expect(theirs.socket.readyState).toBe(theirs.socket.OPEN);
    expect(await watchStatus({ cookie: auth.cookie }, watchProtocols(auth))).toBe(401);
    theirs.close();
  });
});

/**
 * Runs failing attempts until one is throttled: the first AUTH_FAILURE_BURST are refused with
 * 401, then 429 (the bucket refills 5 a second, so a slow machine may need a few more).
 */
async function untilThrottled(attempt: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < AUTH_FAILURE_BURST * 10 && statuses.at(-1) !== 429; i++) statuses.push(await attempt(i));
  expect(statuses.slice(0, AUTH_FAILURE_BURST)).toEqual(Array(AUTH_FAILURE_BURST).fill(401));
  expect(statuses.at(-1)).toBe(429);
  return statuses;
}

describe('throttling failed credentials per address', () => {
  it('answers guessed owner tokens on POST /console/codes with 429 past the burst; the right token still works', async () => {
    broker = await startBroker();
    await untilThrottled(async (i) => {
      const reply = await api(broker.url, 'POST', '/console/codes', {
        headers: { 'x-duo-token': `guess-${i}-${'x'.repeat(40)}` },
        body: { partnerId: 'ada' },
      });
      if (reply.status === 429) {
        expect(reply.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(reply.body.code).toBe('rate_limited');
      }
      return reply.status;
    });
    const owner = await api(broker.url, 'POST', '/console/codes', {
      headers: { 'x-duo-token': broker.broker.ownerToken },
      body: { partnerId: 'ada' },
    });
    expect(owner.status).toBe(200);
  });

  it('answers forged cookies on the API and the watch stream with 429 past the burst; a real session still works', async () => {
    broker = await startBroker();
    const auth = await consoleLogin(broker);
    await untilThrottled(async (i) => {
      const forged = { cookie: `duo_console_${broker.port}=forged${i}`, 'x-duo-session': `key${i}` };
      return (await consoleApi(broker, forged, 'GET', '/console/api/me')).status;
    });
    // The watch stream counts against the same budget (it may have refilled a little meanwhile).
    let watch = 0;
    for (let i = 0; i < AUTH_FAILURE_BURST && watch !== 429; i++)
      watch = await watchStatus({ cookie: auth.cookie }, ['duo-watch', `duo-session.forged${i}`]);
    expect(watch).toBe(429);
    expect((await consoleApi(broker, auth, 'GET', '/console/api/me')).status).toBe(200);
  });
});

describe.skipIf(opensslMissing)('under TLS', () => {
  const dir = tempDir('duo-console-tls-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sets a Secure cookie named __Host-…, and reads it back under that name only', async () => {
    const { cert, key } = makeCertificate(dir, ['DNS:localhost', 'IP:127.0.0.1']);
    broker = await startBroker({ tlsCert: cert, tlsKey: key });
    const host = `localhost:${broker.port}`;
    const send = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
      new Promise<{ status: number; body: any; cookie: string | undefined }>((resolve, reject) => {
        const req = request(
          {
            method,
            host: '127.0.0.1',
            servername: 'localhost',
            port: broker.port,
            path,
            ca: readFileSync(cert),
            headers: { host, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                body: JSON.parse(text || 'null'),
                cookie: response.headers['set-cookie']?.[0],
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    const minted = await send(
      'POST',
      '/console/codes',
      { 'x-duo-token': broker.broker.ownerToken },
      { partnerId: 'ada' },
    );
    expect(minted.status).toBe(200);
    const session = await send('POST', '/console/api/session', {}, { code: minted.body.code });
    expect(session.cookie).toMatch(
      new RegExp(
        `^__Host-duo_console_${broker.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure$`,
      ),
    );
    const value = session.cookie!.split(';')[0]!.split('=')[1]!;
    const pageKey = { 'x-duo-session': session.body.pageKey as string };
    const me = await send('GET', '/console/api/me', {
      cookie: `__Host-duo_console_${broker.port}=${value}`,
      ...pageKey,
    });
    expect(me.body).toMatchObject({ partnerId: 'ada' });
    const unprefixed = await send('GET', '/console/api/me', {
      cookie: `duo_console_${broker.port}=${value}`,
      ...pageKey,
    });
    expect(unprefixed.status).toBe(401);
  });
});
