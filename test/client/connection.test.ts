/**
 * The protocol-only connection against a WebSocket server driven by hand: reconnects, silence,
 * takeover, talk failures and ack replay, frame by frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BrokerConnection } from '../../src/client/connection.ts';
import { brokerEndpoint } from '../../src/client/endpoint.ts';
import { Mailbox } from '../../src/partner/mailbox.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { waitUntil } from '../helpers/mcp-partner.ts';

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

  function connection(since: () => number = () => 0) {
    return new BrokerConnection({
      endpoint: brokerEndpoint({ brokerUrl: url }),
      logger: silentLogger,
      requestTimeoutMs: 1_000,
      backoff: { baseMs: 20, capMs: 100 },
      since,
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
    // The mailbox holds the messages: it says `since` and drops the repeats.
    const conn = connection((): number => mailbox.since);
    const mailbox = new Mailbox({ maxMessages: 100, maxBytes: 1 << 20 }, conn);
    const seen: number[] = [];
    mailbox.on('message', (m) => seen.push(m.id));
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
