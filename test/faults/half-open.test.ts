/**
 * Half-open paths: a TCP proxy that goes silent without closing, and a client process frozen with
 * SIGSTOP. The broker must notice within two heartbeat intervals (it pings every heartbeatMs and
 * terminates a socket that missed a ping), and what was sent meanwhile arrives once healed.
 */
import { afterEach, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { register, talk } from '../helpers/clients.ts';
import { mailboxClient } from '../helpers/mailbox-client.ts';
import { figure, scale, sleep, waitFor } from '../helpers/scale.ts';
import { listenFor, startStdioPartner } from '../helpers/stdio-partner.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

const HEARTBEAT_MS = 200;
/** Two intervals is the promise; the slack absorbs timer jitter on a busy machine. */
const DETECT_BOUND_MS = 2 * HEARTBEAT_MS + 300;

let broker: TestBroker;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await broker.close();
});

const CYCLES = scale(3, 20);

it(
  `a silent path (half-open socket) is detected within 2 heartbeats and heals without loss, ${CYCLES} times`,
  { timeout: scale(30_000, 120_000) },
  async () => {
    broker = await startBroker({ heartbeatMs: HEARTBEAT_MS });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const proxy = await TcpProxy.start(broker.port);
    cleanup.push(() => proxy.close());
    // bob is the real partner's connection and mailbox, reaching the broker through the proxy.
    const { connection, mailbox } = mailboxClient(
      proxy.url,
      { maxMessages: 1_000, maxBytes: 1 << 20 },
      { requestTimeoutMs: 1_000, reconnectBaseMs: 50, reconnectCapMs: 300 },
    );
    cleanup.push(() => connection.close());
    connection.start(bob);
    await waitFor(() => connection.isOpen && broker.broker.service.sessions.has('bob'), 5_000, 'bob connected');

    const sessions = broker.broker.service.sessions;
    const brokerDetect: number[] = [];
    const clientDetect: number[] = [];
    let sent = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const before = sessions.get('bob');
      proxy.silence();
      const silencedAt = Date.now();
      // Sent while the path is dead: committed, maybe pushed into the void, never lost.
      for (let i = 0; i < 5; i++) await talk(broker.url, alice, { to: 'bob', content: `m${sent++}` });
      await waitFor(() => sessions.get('bob') !== before, 5_000, 'the broker to drop the silent socket', 5);
      brokerDetect.push(Date.now() - silencedAt);
      await waitFor(() => !connection.isOpen, 5_000, 'bob to notice the silence', 5);
      clientDetect.push(Date.now() - silencedAt);
      proxy.heal();
      await waitFor(() => mailbox.held().length === sent, 10_000, `bob to hold ${sent} messages`);
    }
    const held = mailbox.held();
    figure('half-open socket (tcp proxy)', {
      cycles: CYCLES,
      heartbeatMs: HEARTBEAT_MS,
      brokerDetectMsMax: Math.max(...brokerDetect),
      brokerDetectMsMedian: brokerDetect.sort((a, b) => a - b)[Math.floor(brokerDetect.length / 2)],
      clientDetectMsMax: Math.max(...clientDetect),
      sentWhileSilent: sent,
      delivered: held.length,
      lost: sent - new Set(held.map((m) => m.content)).size,
    });
    expect(held.map((m) => m.content)).toEqual(Array.from({ length: sent }, (_, i) => `m${i}`));
    expect(Math.max(...brokerDetect)).toBeLessThanOrEqual(DETECT_BOUND_MS);
  },
);

it(
  'a partner process frozen with SIGSTOP is dropped within 2 heartbeats and gets everything once resumed',
  { timeout: 60_000 },
  async () => {
    broker = await startBroker({ heartbeatMs: HEARTBEAT_MS });
    const alice = await register(broker.url, 'alice');
    const bob = await startStdioPartner(broker.url, { partnerId: 'bob' });
    cleanup.push(() => bob.close());
    const sessions = broker.broker.service.sessions;
    await waitFor(() => sessions.has('bob'), 20_000, 'bob connected', 50);
    await talk(broker.url, alice, { to: 'bob', content: 'before' });
    await waitFor(
      async () => (await bob.call('list_partners')).text.includes('📬 1 unread'),
      10_000,
      'bob holds one',
      50,
    );

    process.kill(bob.pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    let resumed = false;
    cleanup.unshift(() => {
      if (!resumed) process.kill(bob.pid, 'SIGCONT');
    });
    // Some pushed into the frozen process's socket before the broker notices, some after.
    for (let i = 0; i < 3; i++) await talk(broker.url, alice, { to: 'bob', content: `frozen ${i}` });
    await waitFor(() => !sessions.has('bob'), 5_000, 'the broker to drop the frozen partner', 5);
    const detectMs = Date.now() - stoppedAt;
    for (let i = 3; i < 6; i++) await talk(broker.url, alice, { to: 'bob', content: `frozen ${i}` });
    await sleep(100);
    process.kill(bob.pid, 'SIGCONT');
    resumed = true;

    const got = await listenFor(bob, 7, 20_000);
    await sleep(200);
    const extra = await bob.call('listen', { timeout: 0 });
    figure('SIGSTOP client', {
      heartbeatMs: HEARTBEAT_MS,
      brokerDetectMs: detectMs,
      sentWhileFrozen: 6,
      delivered: got.length,
      redelivered: got.filter((m) => m.redelivered).length,
    });
    expect(got.map((m) => m.content)).toEqual(['before', ...Array.from({ length: 6 }, (_, i) => `frozen ${i}`)]);
    expect(extra.text).toContain('No new messages');
    expect(detectMs).toBeLessThanOrEqual(DETECT_BOUND_MS);
  },
);
