/** Thin REST and WebSocket clients for tests, speaking the shared protocol. */
import WebSocket from 'ws';
import { ServerFrame, type ClientFrame, type Message } from '../../src/shared/protocol.ts';
import { ownerTokenFor } from './owner-tokens.ts';

export interface Registered {
  partnerId: string;
  secret: string;
}

export async function api(
  baseUrl: string,
  method: string,
  path: string,
  options: { secret?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  // Registering is done as the broker's owner, as partners and `duo` of the same user do; a test
  // of the refusal sends its own X-Duo-Token (possibly empty) to override this.
  const ownerToken = method === 'POST' && path === '/register' ? ownerTokenFor(baseUrl) : undefined;
  const hasToken = Object.keys(headers).some((name) => name.toLowerCase() === 'x-duo-token');
  if (ownerToken !== undefined && !hasToken) headers['x-duo-token'] = ownerToken;
  if (options.secret !== undefined) headers.authorization = `Bearer ${options.secret}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the test will see the raw text.
  }
  return { status: response.status, body, headers: response.headers };
}

export async function register(
  baseUrl: string,
  partnerId: string,
  extra: Record<string, unknown> = {},
): Promise<Registered> {
  const reply = await api(baseUrl, 'POST', '/register', { body: { partnerId, ...extra } });
  if (reply.status !== 200) throw new Error(`register ${partnerId} failed: ${JSON.stringify(reply.body)}`);
  return { partnerId, secret: reply.body.secret };
}

export async function talk(baseUrl: string, from: Registered, body: Record<string, unknown>) {
  return api(baseUrl, 'POST', '/talk', { secret: from.secret, body });
}

/** A WebSocket client that records every frame and lets a test wait for the ones it expects. */
export class WsClient {
  readonly frames: ServerFrame[] = [];
  readonly socket: WebSocket;
  closeCode: number | undefined;
  private readonly waiters = new Set<() => void>();
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(baseUrl: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code) => {
        this.closeCode = code;
        this.notify();
        resolve(code);
      }),
    );
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => {
      this.frames.push(ServerFrame.parse(JSON.parse(data.toString())));
      this.notify();
    });
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.socket.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  messages(): Message[] {
    return this.frames.flatMap((f) => (f.type === 'message' ? [f.message] : []));
  }

  /** Waits until `predicate` holds over the frames so far. */
  async until(predicate: (client: WsClient) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  async frame<T extends ServerFrame['type']>(
    type: T,
    match: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ) {
    let found: Extract<ServerFrame, { type: T }> | undefined;
    await this.until(
      () => {
        found = this.frames.find(
          (f): f is Extract<ServerFrame, { type: T }> =>
            f.type === type && match(f as Extract<ServerFrame, { type: T }>),
        );
        return found !== undefined;
      },
      timeoutMs,
      `a ${type} frame`,
    );
    return found!;
  }

  close(): void {
    this.socket.close();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      this.waiters.delete(waiter);
      waiter();
    }
  }
}

/** Opens a socket, says hello and waits for welcome. */
export async function connect(baseUrl: string, who: Registered, since = 0): Promise<WsClient> {
  const client = new WsClient(baseUrl);
  await client.opened;
  client.send({ type: 'hello', partnerId: who.partnerId, secret: who.secret, since });
  await client.frame('welcome');
  return client;
}
