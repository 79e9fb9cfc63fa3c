/**
 * Inbox bound: a partner that never reads receives a flood, and its inbox stays within its
 * limits because it pauses the broker, which keeps the rest in SQLite. Once it reads, every
 * message arrives, once, in order. First with the real partner's connection and mailbox, then
 * the broker side alone (pause / resume frames).
 */
import { afterEach, expect, it } from 'vitest';
import type { Mailbox } from '../../src/partner/mailbox.ts';
import type { Message } from '../../src/shared/protocol.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { connect, register, talk, type WsClient } from '../helpers/clients.ts';
import { mailboxClient } from '../helpers/mailbox-client.ts';
import { figure, scale, sleep, waitFor } from '../helpers/scale.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

let broker: TestBroker;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await broker.close();
});

const FLOOD = scale(10_000, 50_000);
const LIMITS = { maxMessages: 200, maxBytes: 256 * 1024 };
const TIMING = { requestTimeoutMs: 2_000, reconnectBaseMs: 50, reconnectCapMs: 500 };

/**
 * Reads the way listen does, until `count` messages arrived or `timeoutMs` passed: the mailbox
 * hands out a batch, acks it and resumes the broker once it drained.
 */
async function readLikeListen(
  mailbox: Mailbox,
  count: number,
  batchSize: number,
  timeoutMs: number,
): Promise<Message[]> {
  const read: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (read.length < count && Date.now() < deadline) {
    const batch = mailbox.take(undefined, batchSize);
    if (batch.length === 0) await sleep(2);
    else read.push(...batch);
  }
  return read;
}

/** Sends `count` numbered messages as fast as the socket takes them; resolves when all are stored. */
async function flood(sender: WsClient, to: string, count: number, padding = 'p'.repeat(200)): Promise<void> {
  for (let i = 0; i < count; i++) {
    sender.send({ type: 'talk', ref: `f${i}`, to, content: `flood ${i} ${padding}` });
    if (i % 500 === 499)
      await sender.until(
        (c) => c.frames.filter((f) => f.type === 'sent').length >= i - 200,
        30_000,
        'the broker to keep up',
      );
  }
  await sender.until(
    (c) => c.frames.filter((f) => f.type === 'sent' || f.type === 'error').length >= count,
    60_000,
    `${count} sends stored`,
  );
  const errors = sender.frames.filter((f) => f.type === 'error');
  if (errors.length > 0) throw new Error(`flood send failed: ${JSON.stringify(errors[0])}`);
}

it(
  `a partner that never reads holds a bounded inbox under ${FLOOD} messages, then reads them all in order`,
  { timeout: scale(60_000, 300_000) },
  async () => {
    broker = await startBroker({ rateLimit: 1_000_000, rateBurst: 1_000_000 });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const { connection, mailbox } = mailboxClient(broker.url, LIMITS, TIMING);
    cleanup.push(() => connection.close());
    let maxSize = 0;
    let maxBytes = 0;
    let pushes = 0;
    mailbox.on('message', () => {
      pushes += 1;
      maxSize = Math.max(maxSize, mailbox.usage.messages);
      maxBytes = Math.max(maxBytes, mailbox.usage.bytes);
    });
    connection.start(bob);
    await waitFor(() => connection.isOpen, 5_000, 'bob connected');

    const sender = await connect(broker.url, alice);
    cleanup.push(() => sender.close());
    const started = Date.now();
    await flood(sender, 'bob', FLOOD);
    const floodMs = Date.now() - started;
    await sleep(300);
    const heldWhileIdle = mailbox.usage.messages;
    const pushedWhileIdle = pushes;

    // Now bob reads, the way listen does.
    const readStarted = Date.now();
    const read = await readLikeListen(mailbox, FLOOD, 50, scale(45_000, 240_000));
    const readMs = Date.now() - readStarted;
    const contents = read.map((m) => Number(m.content.split(' ')[1]));
    const inOrder = contents.every((n, i) => n === i);
    figure('inbox bound (real partner connection)', {
      messages: FLOOD,
      softLimit: LIMITS.maxMessages,
      maxInboxMessages: maxSize,
      maxInboxKiB: Math.round(maxBytes / 1024),
      heldWhileNotReading: heldWhileIdle,
      pushedWhileNotReading: pushedWhileIdle,
      read: read.length,
      duplicates: read.length - new Set(read.map((m) => m.id)).size,
      inOrder,
      floodSeconds: floodMs / 1000,
      readSeconds: readMs / 1000,
    });
    expect(maxSize).toBeLessThanOrEqual(LIMITS.maxMessages * 2 + 512);
    expect(maxBytes).toBeLessThanOrEqual(LIMITS.maxBytes * 2 + 32 * 1024 * 1024);
    expect(heldWhileIdle).toBeLessThan(FLOOD / 4);
    expect(read).toHaveLength(FLOOD);
    expect(inOrder).toBe(true);
  },
);

it('a paused session receives nothing more; resume delivers everything in order', async () => {
  broker = await startBroker({ rateLimit: 1_000_000, rateBurst: 1_000_000 });
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  const b = await connect(broker.url, bob);
  cleanup.push(() => b.close());
  await talk(broker.url, alice, { to: 'bob', content: 'before pause' });
  await b.until((c) => c.messages().length === 1, 5_000, 'first push');
  b.send({ type: 'pause' });
  // Frames are handled in order: once this error is back, the pause is in effect.
  b.send({ type: 'ack', ref: 'sync', conversationId: 'group_nope', upTo: 1 });
  await b.frame('error', (f) => f.ref === 'sync');
  for (let i = 0; i < 300; i++) await talk(broker.url, alice, { to: 'bob', content: `paused ${i}` });
  await sleep(300);
  const whilePaused = b.messages().length - 1;
  b.send({ type: 'resume', since: b.messages()[0]!.id });
  await b.until((c) => c.messages().length === 301, 10_000, 'all 300 after resume');
  await sleep(100);
  const after = b.messages().slice(1);
  figure('pause/resume (broker side)', {
    pausedFor: 300,
    pushedWhilePaused: whilePaused,
    deliveredAfterResume: after.length,
  });
  expect(whilePaused).toBe(0);
  expect(after.map((m) => m.content)).toEqual(Array.from({ length: 300 }, (_, i) => `paused ${i}`));
});

/**
 * Past its hard limit the inbox drops; after `resume` it keeps dropping until the broker's
 * `resumed` confirms that later frames start at `since` again, so no gap is ever acked over.
 */
it(
  'a partner whose inbox overflows its hard limit still reads every message once, in order',
  { timeout: 60_000 },
  async () => {
    broker = await startBroker({ rateLimit: 1_000_000, rateBurst: 1_000_000 });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const { connection, mailbox } = mailboxClient(
      broker.url,
      { maxMessages: 50, maxBytes: 1 << 20, hardMaxMessages: 100 },
      TIMING,
    );
    cleanup.push(() => connection.close());
    connection.start(bob);
    await waitFor(() => connection.isOpen, 5_000, 'bob connected');
    const sender = await connect(broker.url, alice);
    cleanup.push(() => sender.close());
    await flood(sender, 'bob', 3_000);
    const read = await readLikeListen(mailbox, 3_000, 25, 20_000);
    expect(read.map((m) => Number(m.content.split(' ')[1]))).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
  },
);

const STALLED = scale(5_000, 20_000);

it(
  `a client that stops reading does not pull its backlog into the broker's memory (${STALLED} × 4 KB), and gets it all once it reads`,
  { timeout: scale(60_000, 180_000) },
  async () => {
    broker = await startBroker({ rateLimit: 1_000_000, rateBurst: 1_000_000 });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const proxy = await TcpProxy.start(broker.port);
    cleanup.push(() => proxy.close());
    const b = await connect(proxy.url, bob);
    cleanup.push(() => b.close());
    // bob's process stops reading its socket: TCP buffers fill, then the broker must hold back.
    proxy.silence();
    const buffered = () => ((broker.broker.service.sessions.get('bob') as any)?.socket?.bufferedAmount ?? 0) as number;
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, buffered())), 5);
    cleanup.push(() => clearInterval(sampler));
    const sender = await connect(broker.url, alice);
    cleanup.push(() => sender.close());
    await flood(sender, 'bob', STALLED, 'q'.repeat(4_000));
    await sleep(500);
    const bufferedWhileStalled = buffered();
    proxy.heal();
    await b.until((c) => c.messages().length >= STALLED, scale(30_000, 120_000), `all ${STALLED} after healing`);
    clearInterval(sampler);
    const got = b.messages();
    figure('stalled reader (broker send buffer)', {
      messages: STALLED,
      messageBytes: 4_000,
      maxBrokerBufferedKiB: Math.round(maxBuffered / 1024),
      bufferedWhileStalledKiB: Math.round(bufferedWhileStalled / 1024),
      delivered: got.length,
      duplicates: got.length - new Set(got.map((m) => m.id)).size,
    });
    expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);
    expect(got.map((m) => Number(m.content.split(' ')[1]))).toEqual(Array.from({ length: STALLED }, (_, i) => i));
  },
);
