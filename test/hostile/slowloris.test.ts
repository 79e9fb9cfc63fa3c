/**
 * Slow clients: a socket that trickles its request headers forever is closed by the headers
 * timeout (10 s), while everyone else is served normally; a WebSocket that never says hello is
 * closed at the hello deadline. This file takes about 11 s, on purpose, once.
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, WsClient } from '../helpers/clients.ts';
import { figure } from '../helpers/scale.ts';

const HEADERS_TIMEOUT_MS = 10_000;

let broker: TestBroker;
afterEach(async () => broker.close());

it('closes slow-headers sockets at the headers timeout and keeps serving others', { timeout: 30_000 }, async () => {
  broker = await startBroker({ helloTimeoutMs: 500 });
  const SOCKETS = 20;
  const started = Date.now();
  const closes = Array.from(
    { length: SOCKETS },
    () =>
      new Promise<{ ms: number; reply: string }>((resolve) => {
        const socket = tcpConnect(broker.port, '127.0.0.1');
        let reply = '';
        socket.on('data', (chunk) => (reply += chunk.toString()));
        socket.on('error', () => {});
        socket.on('connect', () => socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${broker.port}\r\n`));
        // One more header byte every 500 ms: the request is always arriving, never complete.
        const drip = setInterval(() => socket.write('X'), 500);
        const cap = setTimeout(() => socket.destroy(), 20_000);
        socket.on('close', () => {
          clearInterval(drip);
          clearTimeout(cap);
          resolve({ ms: Date.now() - started, reply });
        });
      }),
  );

  // Meanwhile the broker answers normally, and a socket without hello is cut at its deadline.
  const healthy: number[] = [];
  for (let i = 0; i < 5; i++) healthy.push((await api(broker.url, 'GET', '/health')).status);
  const silent = new WsClient(broker.url);
  await silent.opened;
  const helloClose = await silent.closed;

  const results = await Promise.all(closes);
  const longest = Math.max(...results.map((r) => r.ms));
  const statuses = [...new Set(results.map((r) => /^HTTP\/1\.1 (\d{3})/.exec(r.reply)?.[1] ?? 'none'))];
  const body = results[0]!.reply.split('\r\n\r\n')[1] ?? '';
  figure('slowloris', {
    sockets: SOCKETS,
    closedAfterMsMin: Math.min(...results.map((r) => r.ms)),
    closedAfterMsMax: longest,
    replyStatuses: statuses.join('/'),
    healthDuring: healthy.join('/'),
    noHelloClose: helloClose,
  });
  expect(longest).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
  expect(healthy.every((s) => s === 200)).toBe(true);
  expect(helloClose).toBe(CloseCode.helloTimeout);
  if (body !== '') expect(Object.keys(JSON.parse(body)).sort()).toEqual(['code', 'error']);
});
