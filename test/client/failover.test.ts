/**
 * Several brokers in BROKER_URL: the WebSocket connection and the REST client move on to the next
 * broker after a connection-level failure, and only when repeating the request is safe. Real
 * brokers, real sockets; a dead broker is a port nobody listens on, a hand-driven WebSocket
 * server plays a broker frame by frame, and a plain HTTP server plays a proxy whose broker is gone.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BrokerConnection } from '../../src/client/connection.ts';
import { brokerEndpoint } from '../../src/client/endpoint.ts';
import { BrokerClient } from '../../src/client/rest.ts';
import { fetchTransport, nodeHttp } from '../../src/client/transport.ts';
import { DuoError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { register } from '../helpers/clients.ts';
import { waitUntil } from '../helpers/mcp-partner.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A URL where nothing listens: connecting is refused at once. */
async function deadUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

async function listening(server: Server | TcpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

interface HandBroker {
  url: string;
  hellos: Array<{ since: number }>;
  sockets: WebSocket[];
  /** Cuts every socket and stops listening: the broker is gone. */
  kill(): Promise<void>;
}

/**
 * A WebSocket server that welcomes every hello, recording what it was told; `closeAtOnce` closes
 * each session right after its welcome (a broker that keeps turning the partner away).
 */
async function handBroker(closeAtOnce = false): Promise<HandBroker> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  const hellos: Array<{ since: number }> = [];
  const sockets: WebSocket[] = [];
  server.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type !== 'hello') return;
      hellos.push(frame);
      socket.send(JSON.stringify({ type: 'welcome', partnerId: 'p', name: 'p', version: 'x', heartbeatMs: 10_000 }));
      if (closeAtOnce) socket.close(1011, 'internal error');
    });
  });
  let killed = false;
  const kill = async () => {
    if (killed) return;
    killed = true;
    for (const socket of sockets) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(kill);
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    hellos,
    sockets,
    kill,
  };
}

/** A connection whose backoff, were it applied, would wait about a minute. */
function slowBackoffConnection(brokerUrl: string, since = () => 7) {
  const connection = new BrokerConnection({
    endpoint: brokerEndpoint({ brokerUrl }),
    logger: silentLogger,
    requestTimeoutMs: 2_000,
    backoff: { baseMs: 60_000, capMs: 60_000, random: () => 0.99 },
    since,
  });
  cleanups.push(() => connection.close());
  return connection;
}

describe('the WebSocket connection with several brokers', () => {
  it('skips a dead first broker without backing off, and says hello to the next', async () => {
    const live = await handBroker();
    const connection = slowBackoffConnection(`${await deadUrl()},${live.url}`);
    connection.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => connection.isOpen, 10_000, 'welcomed by the second broker');
    expect(live.hellos).toEqual([expect.objectContaining({ type: 'hello', partnerId: 'p', secret: 's', since: 7 })]);
  });

  it('moves to the other broker when its broker goes away mid-session, with the same hello contract', async () => {
    const first = await handBroker();
    const second = await handBroker();
    let since = 3;
    const connection = slowBackoffConnection(`${first.url},${second.url}`, () => since);
    connection.start({ partnerId: 'p', secret: 's' });
    await waitUntil(() => connection.isOpen && first.hellos.length === 1, 10_000, 'open on the first broker');
    since = 42;
    await first.kill();
    await waitUntil(() => second.hellos.length === 1 && connection.isOpen, 10_000, 'open on the second broker');
    expect(second.hellos[0]).toMatchObject({ partnerId: 'p', secret: 's', since: 42 });
  });

  it('after every broker of the list failed in turn, waits (backs off) before the next round', async () => {
    const connection = slowBackoffConnection(`${await deadUrl()},${await deadUrl()}`);
    const states: string[] = [];
    connection.on('state', (state) => states.push(state));
    connection.start({ partnerId: 'p', secret: 's' });
    // Two refusals, then the minute-long wait: the state stays "waiting", no third attempt.
    await waitUntil(() => states.filter((s) => s === 'connecting').length === 2 && connection.state === 'waiting');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(states.filter((s) => s === 'connecting')).toHaveLength(2);
  });

  it('backs off from brokers that each welcome and close at once, instead of looping without pause', async () => {
    const first = await handBroker(true);
    const second = await handBroker(true);
    const connection = slowBackoffConnection(`${first.url},${second.url}`);
    connection.start({ partnerId: 'p', secret: 's' });
    // One welcome on each, then the minute-long wait: a welcome alone is not a working session.
    await waitUntil(
      () => first.hellos.length === 1 && second.hellos.length === 1 && connection.state === 'waiting',
      10_000,
      'one round over both brokers, then a wait',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(first.hellos.length + second.hellos.length).toBe(2);
    expect(connection.state).toBe('waiting');
  });
});

// The same contract over both transports: fetch (the partner) and node:http (the hooks).
describe.each([
  ['fetch', fetchTransport],
  ['node:http', nodeHttp],
])('the REST client with several brokers, over %s', (_, transport) => {
  let broker: TestBroker;

  async function live(): Promise<TestBroker> {
    broker = await startBroker();
    cleanups.push(() => broker.close());
    return broker;
  }

  function client(brokerUrl: string, credentials?: { partnerId: string; secret: string }) {
    const endpoint = brokerEndpoint({ brokerUrl });
    const rest = new BrokerClient({ endpoint, timeoutMs: 2_000, transport });
    rest.setCredentials(credentials);
    return { endpoint, rest };
  }

  /** A plain HTTP server standing in for a proxy: every request gets `status` with a body not ours. */
  async function proxy(status: number): Promise<{ url: string; bodies: unknown[] }> {
    const bodies: unknown[] = [];
    const server = createHttpServer((request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        bodies.push(text === '' ? undefined : JSON.parse(text));
        response.writeHead(status, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
      });
    });
    const url = await listening(server);
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return { url, bodies };
  }

  /** A server that accepts each connection and cuts it at once: the request may have been read. */
  async function resetting(): Promise<string> {
    const server = createTcpServer((socket) => socket.resetAndDestroy());
    const url = await listening(server);
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    return url;
  }

  it('retries a request on the next broker when the first refuses the connection, and stays there', async () => {
    const b = await live();
    const alice = await register(b.url, 'alice');
    const dead = await deadUrl();
    const { endpoint, rest } = client(`${dead},${b.url}`, alice);
    const { partners } = await rest.partners();
    expect(partners.map((p) => p.id)).toEqual(['alice']);
    expect(endpoint.url).toBe(b.url);
    // A write that must not be repeated still goes elsewhere when the first broker never saw it.
    const second = client(`${dead},${b.url}`, alice);
    await register(b.url, 'bob');
    const group = await second.rest.createConversation({ name: 'team', participants: ['bob'] });
    expect(group.conversation.members).toEqual(['alice', 'bob']);
  });

  it('after a reset, retries reads and writes that are safe to repeat, but not others', async () => {
    const b = await live();
    const alice = await register(b.url, 'alice');
    await register(b.url, 'bob');
    const reset = await resetting();
    expect((await client(`${reset},${b.url}`, alice).rest.partners()).partners).toHaveLength(2);
    expect(await client(`${reset},${b.url}`, alice).rest.setStatus('on call')).toBeDefined();
    const error = await client(`${reset},${b.url}`, alice)
      .rest.createConversation({ name: 'team', participants: ['bob'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuoError);
    expect((error as DuoError).code).toBe('unavailable');
    expect((error as DuoError).message).toContain(reset);
    const { conversations } = await client(b.url, alice).rest.conversations();
    expect(conversations.filter((c) => c.kind === 'group')).toHaveLength(0);
  });

  it('gives a talk without clientMsgId one, so a 502 from a proxy can be retried on the next broker', async () => {
    const b = await live();
    const alice = await register(b.url, 'alice');
    await register(b.url, 'bob');
    const gateway = await proxy(502);
    const reply = await client(`${gateway.url},${b.url}`, alice).rest.talk({ to: 'bob', content: 'hello' });
    expect(reply.duplicate).toBe(false);
    const sent = gateway.bodies[0] as { clientMsgId?: string };
    expect(sent.clientMsgId).toMatch(/^[0-9a-f-]{36}$/);
    // The same clientMsgId again is the same message, not a second one.
    const again = await client(b.url, alice).rest.talk({ to: 'bob', content: 'hello', clientMsgId: sent.clientMsgId! });
    expect(again).toMatchObject({ messageId: reply.messageId, duplicate: true });
  });

  it('never fails over on an answer of ours, and says so when every broker is down', async () => {
    const first = await live();
    const second = await startBroker();
    cleanups.push(() => second.close());
    // The secret is the second broker's: the first answers 401, which is final.
    const alice = await register(second.url, 'alice');
    const { endpoint, rest } = client(`${first.url},${second.url}`, alice);
    await expect(rest.partners()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(endpoint.url).toBe(first.url);

    const deadA = await deadUrl();
    const deadB = await deadUrl();
    const down = await client(`${deadA},${deadB}`, alice)
      .rest.partners()
      .catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'unavailable' });
    expect((down as Error).message).toMatch(new RegExp(`None of the Duo brokers ${deadA}, ${deadB} answered`));
  });

  it('gives up on a broker that accepts the connection and never answers, saying how long it waited', async () => {
    const held: Socket[] = [];
    const silent = createTcpServer((socket) => held.push(socket));
    const url = await listening(silent);
    cleanups.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const endpoint = brokerEndpoint({ brokerUrl: url });
    const rest = new BrokerClient({ endpoint, timeoutMs: 300, transport });
    const error = await rest.health().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect((error as Error).message).toMatch(/did not answer within 0\.3 s/);
  });

  it('long-polls with listen: peek, above and after', async () => {
    const b = await live();
    const alice = await register(b.url, 'alice');
    const bob = await register(b.url, 'bob');
    const rest = client(b.url, bob).rest;
    await client(b.url, alice).rest.talk({ to: 'bob', content: 'one' });
    const peeked = await rest.listen({ timeout: 0, peek: true });
    expect(peeked.messages.map((m) => m.content)).toEqual(['one']);
    expect((await rest.listen({ timeout: 0, peek: true, above: peeked.messages[0]!.id })).messages).toEqual([]);
    await rest.listen({ timeout: 0, peek: true, after: peeked.cursor });
    expect((await rest.listen({ timeout: 0, peek: true })).messages).toEqual([]);
  });
});
