import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BrokerConnection } from '../../src/partner/connection.ts';
import { Inbox } from '../../src/partner/inbox.ts';
import { silentLogger } from '../../src/partner/log.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { startPartner, waitUntil, type TestPartner } from './harness.ts';

let broker: TestBroker;
const open: TestPartner[] = [];
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

describe('flow control against the real broker', () => {
  it('pauses when the inbox is full and resumes as it drains, losing and repeating nothing', async () => {
    const alice = await startPartner(broker.url, { partnerId: 'fc-alice', overrides: { inboxMaxMessages: 4 } });
    const bob = await startPartner(broker.url, { partnerId: 'fc-bob' });
    open.push(alice, bob);
    const total = 30;
    for (let i = 1; i <= total; i++)
      expect((await bob.call('talk', { message: `n${i}`, to: 'fc-alice' })).isError).toBe(false);
    // The broker stops pushing at the limit (plus what was already in flight).
    await waitUntil(() => alice.partner.inbox.size >= 4);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alice.partner.inbox.size).toBeLessThan(total);
    expect(alice.partner.inboxSaturated).toBe(true);
    expect((await alice.call('list_partners')).text).toMatch(/📬 \d+\+ unread/);

    const received: string[] = [];
    const deadline = Date.now() + 10_000;
    while (received.length < total && Date.now() < deadline) {
      const heard = await alice.call('listen', { timeout: 3 });
      expect(heard.isError).toBe(false);
      received.push(...[...heard.text.matchAll(/\n(n\d+)\n<\/peer_message>/g)].map((m) => m[1]!));
    }
    expect(received).toEqual(Array.from({ length: total }, (_, i) => `n${i + 1}`));
  });
});

describe('connection against a hand-driven WebSocket server', () => {
  let server: WebSocketServer;
  let url: string;
  const sockets: WebSocket[] = [];
  let onHello: (socket: WebSocket, hello: { since: number }) => void = () => {};

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    server.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'hello') onHello(socket, frame);
      });
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  const welcome = (socket: WebSocket, heartbeatMs: number) =>
    socket.send(JSON.stringify({ type: 'welcome', partnerId: 'p', name: 'p', version: 'x', heartbeatMs }));
  const message = (socket: WebSocket, id: number) =>
    socket.send(
      JSON.stringify({
        type: 'message',
        message: {
          id,
          conversationId: 'direct:p:q',
          from: 'q',
          content: `c${id}`,
          createdAt: '2026-01-01T00:00:00.000Z',
        },
      }),
    );

  function connection(inbox = new Inbox({ maxMessages: 100, maxBytes: 1 << 20 })) {
    return new BrokerConnection({
      brokerUrl: url,
      inbox,
      logger: silentLogger,
      requestTimeoutMs: 1_000,
      reconnectBaseMs: 20,
      reconnectCapMs: 100,
    });
  }

  it('reconnects when the broker goes silent, resuming from the highest id held, and drops duplicates', async () => {
    const hellos: number[] = [];
    onHello = (socket, hello) => {
      hellos.push(hello.since);
      welcome(socket, 100);
      // Replays overlap what the client already has; it must keep one copy of each.
      message(socket, 1);
      message(socket, 2);
      message(socket, 2);
      // …then never another frame nor ping.
    };
    const conn = connection();
    const seen: number[] = [];
    conn.on('message', (m) => seen.push(m.id));
    conn.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => hellos.length >= 2, 3_000, 'reconnect after silence');
    await conn.close();
    expect(hellos.slice(0, 2)).toEqual([0, 2]);
    expect(seen).toEqual([1, 2]);
  });

  it('goes dormant on close code 4001 instead of reconnecting', async () => {
    let hellos = 0;
    onHello = (socket) => {
      hellos++;
      welcome(socket, 10_000);
      setTimeout(() => socket.close(4001, 'replaced'), 20);
    };
    const conn = connection();
    conn.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => conn.state === 'replaced', 3_000, 'replaced');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hellos).toBe(1);
    expect(conn.state).toBe('replaced');
    await conn.close();
  });

  it('rejects a pending talk at once when the socket drops, and fails fast when not connected', async () => {
    onHello = (socket) => {
      welcome(socket, 10_000);
      socket.on('message', (data) => {
        if (JSON.parse(data.toString()).type === 'talk') socket.terminate();
      });
    };
    const conn = connection();
    await expect(conn.talk({ content: 'x', to: 'q' })).rejects.toThrow(/Not connected/);
    conn.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => conn.isOpen, 3_000, 'open');
    const started = Date.now();
    await expect(conn.talk({ content: 'x', to: 'q' })).rejects.toThrow(/dropped before it confirmed/);
    expect(Date.now() - started).toBeLessThan(900);
    await conn.close();
  });

  it('re-sends acks after a reconnect', async () => {
    const acks: Array<{ conversationId: string; upTo: number }> = [];
    let first = true;
    onHello = (socket) => {
      welcome(socket, 10_000);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'ack') acks.push({ conversationId: frame.conversationId, upTo: frame.upTo });
      });
      if (first) {
        first = false;
        setTimeout(() => socket.terminate(), 50);
      }
    };
    const conn = connection();
    conn.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => conn.isOpen, 3_000, 'open');
    conn.ack('direct:p:q', 7);
    await waitUntil(() => acks.length >= 2, 3_000, 'ack re-sent');
    expect(acks.slice(0, 2)).toEqual([
      { conversationId: 'direct:p:q', upTo: 7 },
      { conversationId: 'direct:p:q', upTo: 7 },
    ]);
    await conn.close();
  });
});

describe('acks refused by the rate limiter', () => {
  it('are sent again once the limit passes, so read messages do not come back', async () => {
    const strict = await startBroker({ rateLimit: 1, rateBurst: 2 });
    try {
      const alice = await startPartner(strict.url, { partnerId: 'rl-alice' });
      const bob = await startPartner(strict.url, { partnerId: 'rl-bob' });
      open.push(alice, bob);
      await bob.call('talk', { message: 'read me', to: 'rl-alice' });
      await waitUntil(() => alice.partner.inbox.size === 1);
      // Spend alice's tokens, so the ack that listen sends is refused.
      await alice.call('list_partners');
      await alice.call('list_partners');
      expect((await alice.call('listen', { timeout: 0 })).text).toContain('read me');
      const unread = async () => (await strict.broker.service.conversations.list('rl-alice'))[0]?.unread;
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect.poll(unread, { timeout: 5_000, interval: 100 }).toBe(0);
    } finally {
      await Promise.all(open.splice(0).map((p) => p.close()));
      await strict.close();
    }
  });
});
