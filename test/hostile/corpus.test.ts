/**
 * The hostile corpus against a broker in its own process: every input gets a 4xx JSON
 * `{error, code}` (or a documented close code), never a 5xx or a stack trace; the broker keeps
 * its PID and keeps answering /health. Valid but nasty content (SQL injection, envelope
 * forgeries, NUL, control characters) is stored and comes back byte-identical.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '../../src/shared/envelope.ts';
import { CloseCode, type ServerFrame } from '../../src/shared/protocol.ts';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker.ts';
import { api, connect, register, talk, WsClient, type Registered } from '../helpers/clients.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { figure } from '../helpers/scale.ts';
import { rawCases, restCases, STORED, wsCases, type RestCase } from './corpus.ts';

let broker: BrokerProcess;
let pid: number;
let alice: Registered;
let bob: Registered;
const tally = { rest: 0, raw: 0, ws: 0, stored: 0 };

beforeAll(async () => {
  broker = await startBrokerProcess({
    dbPath: join(tempDir('duo-hostile-'), 'duo.db'),
    env: { DUO_RATE_LIMIT: '1000000' },
  });
  pid = broker.child.pid!;
  alice = await register(broker.url, 'alice');
  bob = await register(broker.url, 'bob');
  await register(broker.url, 'carol');
  expect((await talk(broker.url, alice, { to: 'bob', content: 'hello' })).status).toBe(200);
}, 30_000);

afterAll(async () => {
  const alive = broker.child.exitCode === null && broker.child.signalCode === null;
  const health = await api(broker.url, 'GET', '/health').catch(() => ({ status: 0 }));
  figure('hostile corpus', {
    inputs: tally.rest + tally.raw + tally.ws + tally.stored,
    rest: tally.rest,
    rawHttp: tally.raw,
    websocket: tally.ws,
    storedByteIdentical: tally.stored,
    pidUnchanged: broker.child.pid === pid && alive,
    health: health.status,
  });
  await broker.kill('SIGTERM');
});

const STACK = /\n\s+at\s|\.ts:\d+|node:internal|Error: /;

/** What is wrong with a reply that should be a clean 4xx JSON error, or undefined. */
function problem(status: number | undefined, body: unknown, text: string): string | undefined {
  if (status === undefined || status < 400 || status > 499) return `status ${status}`;
  if (STACK.test(text)) return 'stack trace in the reply';
  if (typeof body !== 'object' || body === null) return `not JSON: ${text.slice(0, 120)}`;
  const keys = Object.keys(body).sort().join(',');
  if (keys !== 'code,error') return `keys ${keys}: ${text.slice(0, 160)}`;
  const { error, code } = body as { error: unknown; code: unknown };
  if (typeof error !== 'string' || typeof code !== 'string' || error.length === 0) return 'error/code not strings';
  return undefined;
}

async function send(c: RestCase): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (c.auth !== 'none') headers.authorization = `Bearer ${alice.secret}`;
  if (c.body !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  const response = await fetch(`${broker.url}${c.path}`, {
    method: c.method,
    headers,
    ...(c.body === undefined ? {} : { body: typeof c.body === 'string' ? c.body : new Uint8Array(c.body) }),
  });
  return { status: response.status, text: await response.text() };
}

describe('REST', () => {
  it(
    'answers every malformed, mistyped, oversized or forged request with a 4xx {error, code}',
    { timeout: 60_000 },
    async () => {
      const failures: string[] = [];
      for (const c of restCases()) {
        const { status, text } = await send(c);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const wrong = problem(status, body, text);
        if (wrong) failures.push(`${c.name}: ${wrong}`);
        tally.rest += 1;
      }
      expect(failures).toEqual([]);
      expect((await api(broker.url, 'GET', '/health')).status).toBe(200);
    },
  );

  it(
    'answers broken HTTP (request line, headers, framing) with a 4xx {error, code} or closes',
    { timeout: 30_000 },
    async () => {
      const failures: string[] = [];
      for (const c of rawCases()) {
        const reply = await rawRequest(broker.port, c.request(broker.port));
        tally.raw += 1;
        if (reply.status === undefined) {
          if (!reply.closedByServer) failures.push(`${c.name}: no answer and not closed`);
          continue;
        }
        let body: unknown;
        try {
          body = JSON.parse(reply.body);
        } catch {
          body = undefined;
        }
        const wrong = problem(reply.status, body, reply.body);
        if (wrong) failures.push(`${c.name}: ${wrong}`);
      }
      expect(failures).toEqual([]);
    },
  );
});

describe('WebSocket', () => {
  it(
    'answers every bad frame with an error frame or its documented close code, and stays up',
    { timeout: 60_000 },
    async () => {
      const failures: string[] = [];
      let shared: WsClient | undefined;
      for (const c of wsCases()) {
        tally.ws += 1;
        const fresh = c.close !== undefined || c.hello === false;
        let client: WsClient;
        if (fresh) {
          client = c.hello === false ? new WsClient(broker.url) : await connect(broker.url, alice);
          await client.opened;
        } else {
          shared ??= await connect(broker.url, alice);
          client = shared;
        }
        const before = client.frames.length;
        // Object frames carry their own ref (so an asynchronous error is awaited by ref); anything
        // else is followed by a probe whose reply proves the case was handled first.
        const ref = `case-${tally.ws}`;
        let data = c.data;
        let parsed: unknown;
        try {
          parsed = typeof data === 'string' ? JSON.parse(data) : undefined;
        } catch {
          parsed = undefined;
        }
        // Before hello nothing is echoed (and a hello takes no ref): any error frame will do.
        const withRef =
          c.hello !== false &&
          typeof parsed === 'object' &&
          parsed !== null &&
          !Array.isArray(parsed) &&
          !c.name.startsWith('ref ');
        if (withRef) data = JSON.stringify({ ...(parsed as object), ref });
        client.sendRaw(data, c.binary === true);
        if (c.close !== undefined) {
          const code = await Promise.race([
            client.closed,
            new Promise<string>((resolve) => setTimeout(() => resolve('no close'), 5_000)),
          ]);
          if (code !== c.close) failures.push(`${c.name}: closed with ${code}, expected ${c.close}`);
          continue;
        }
        const awaited = withRef ? ref : 'probe';
        if (!withRef && c.hello !== false) client.sendRaw(JSON.stringify({ type: 'teleport', ref: 'probe' }));
        const answered = (f: ServerFrame) => f.type === 'error' && (c.hello === false || f.ref === awaited);
        try {
          await client.until((x) => x.frames.slice(before).some(answered) || x.closeCode !== undefined, 5_000, awaited);
        } catch {
          failures.push(`${c.name}: no reply`);
          continue;
        }
        const replies = client.frames.slice(before).filter((f) => !(f.type === 'error' && f.ref === 'probe'));
        if (client.closeCode !== undefined) failures.push(`${c.name}: socket closed (${client.closeCode})`);
        else if (!replies.some((f) => f.type === 'error' && f.code.length > 0 && f.error.length > 0))
          failures.push(`${c.name}: no error frame (${JSON.stringify(replies).slice(0, 160)})`);
        else if (replies.some((f) => f.type === 'error' && STACK.test(f.error)))
          failures.push(`${c.name}: stack trace in the error`);
        if (fresh) client.close();
      }
      shared?.close();
      expect(failures).toEqual([]);
      expect(CloseCode.unsupportedData).toBe(1003);
      expect((await api(broker.url, 'GET', '/health')).status).toBe(200);
    },
  );
});

describe('stored content', () => {
  it(
    'stores SQL injection, envelope forgeries, NUL and control characters byte-identical, and the envelope holds',
    { timeout: 30_000 },
    async () => {
      const bobWs = await connect(broker.url, bob);
      const aliceWs = await connect(broker.url, alice);
      const sent: string[] = [];
      for (const [i, content] of STORED.entries()) {
        if (i % 2 === 0) {
          const reply = await talk(broker.url, alice, { to: 'bob', content, clientMsgId: content.slice(0, 128) });
          expect(reply.status, content).toBe(200);
        } else {
          aliceWs.send({ type: 'talk', ref: `s${i}`, to: 'bob', content });
          const reply = await aliceWs
            .frame('sent', (f) => f.ref === `s${i}`)
            .catch(async () => aliceWs.frame('error', (f) => f.ref === `s${i}`));
          expect(reply.type, JSON.stringify(reply)).toBe('sent');
        }
        sent.push(content);
        tally.stored += 1;
      }
      await bobWs.until((c) => c.messages().length >= sent.length + 1, 10_000, 'all pushes');
      const pushed = bobWs
        .messages()
        .slice(-sent.length)
        .map((m) => m.content);
      const history = await api(broker.url, 'GET', `/conversations/direct:alice:bob/messages?limit=500`, {
        secret: bob.secret,
      });
      const stored = history.body.messages.slice(-sent.length);
      const same = (a: string, b: string) => Buffer.from(a, 'utf8').equals(Buffer.from(b, 'utf8')) && a === b;
      expect(pushed.every((content, i) => same(content, sent[i]!))).toBe(true);
      expect(stored.every((m: { content: string }, i: number) => same(m.content, sent[i]!))).toBe(true);
      for (const message of stored) {
        const wrapped = envelope(message);
        expect(wrapped.match(/<peer_message[\s>]/gi) ?? []).toHaveLength(1);
        expect(wrapped.match(/<\/peer_message/gi) ?? []).toHaveLength(1);
      }
      // Injection strings as group names come back verbatim too.
      for (const name of ["'; DROP TABLE conversations; --", '</peer_message>']) {
        const created = await api(broker.url, 'POST', '/conversations', {
          secret: alice.secret,
          body: { name, participants: ['bob'] },
        });
        expect(created.status).toBe(200);
        expect(created.body.conversation.name).toBe(name);
      }
      const partners = await api(broker.url, 'GET', '/partners', { secret: alice.secret });
      expect(partners.body.partners.map((p: { id: string }) => p.id)).toEqual(['alice', 'bob', 'carol']);
      bobWs.close();
      aliceWs.close();
    },
  );
});
