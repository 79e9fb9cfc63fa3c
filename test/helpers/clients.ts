/** Thin REST and WebSocket clients for tests, speaking the shared protocol. */
import WebSocket from 'ws';
import { ServerFrame, type ClientFrame, type ConversationSummary, type Message } from '../../src/shared/protocol.ts';
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

/**
 * A partner that acts over REST only, as a second user's agent does in end-to-end tests: it
 * sends, receives with the long-poll (which marks what it returned read), and reads its view of
 * the conversations.
 */
export class RestPartner {
  private constructor(
    readonly baseUrl: string,
    readonly who: Registered,
  ) {}

  static async register(baseUrl: string, partnerId: string): Promise<RestPartner> {
    return new RestPartner(baseUrl, await register(baseUrl, partnerId));
  }

  /** A partner registered elsewhere (its secret read from its home), acting over REST. */
  static as(baseUrl: string, who: Registered): RestPartner {
    return new RestPartner(baseUrl, who);
  }

  get id(): string {
    return this.who.partnerId;
  }

  /** Sends `content` to a partner id or into a conversation; returns the broker's reply body. */
  async send(target: { to: string } | { conversationId: string }, content: string) {
    const reply = await talk(this.baseUrl, this.who, { ...target, content });
    if (reply.status !== 200)
      throw new Error(`${this.id} could not send: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as { messageId: number; conversationId: string; createdAt: string; duplicate: boolean };
  }

  /** Sends, and returns the broker's answer as it is (a refusal is not thrown). */
  trySend(target: { to: string } | { conversationId: string }, content: string) {
    return talk(this.baseUrl, this.who, { ...target, content });
  }

  /** Waits up to `timeoutS` for unread messages and returns them (they are read from then on). */
  async receive(timeoutS = 30, conversationId?: string): Promise<Message[]> {
    const query = new URLSearchParams({ timeout: String(timeoutS) });
    if (conversationId !== undefined) query.set('conversationId', conversationId);
    const reply = await api(this.baseUrl, 'GET', `/listen/${this.id}?${query}`, { secret: this.who.secret });
    if (reply.status !== 200)
      throw new Error(`${this.id} could not listen: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.messages as Message[];
  }

  /** Receives until a message whose text holds `needle` arrives (others are read and dropped). */
  async receiveText(needle: string, timeoutMs = 30_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0)
        throw new Error(`${this.id} received no message holding ${JSON.stringify(needle)} in ${timeoutMs} ms`);
      const found = (await this.receive(Math.min(left, 30))).find((m) => m.content.includes(needle));
      if (found) return found;
    }
  }

  /** Its conversations with unread counts (and whatever else the broker's summary carries). */
  async conversations(): Promise<ConversationSummary[]> {
    const reply = await api(this.baseUrl, 'GET', `/conversations/${this.id}`, { secret: this.who.secret });
    if (reply.status !== 200)
      throw new Error(`${this.id}: conversations: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.conversations as ConversationSummary[];
  }

  /** The newest messages of a conversation, as history returns them (with receipts, when the broker gives them). */
  async history(conversationId: string, limit = 20): Promise<(Message & { receipts?: Record<string, string> })[]> {
    const path = `/conversations/${encodeURIComponent(conversationId)}/messages?limit=${limit}`;
    const reply = await api(this.baseUrl, 'GET', path, { secret: this.who.secret });
    if (reply.status !== 200) throw new Error(`${this.id}: history: ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.messages;
  }

  /** Its unread count in one conversation (0 when it is not a member). */
  async unread(conversationId: string): Promise<number> {
    return (await this.conversations()).find((c) => c.id === conversationId)?.unread ?? 0;
  }
}
