/**
 * The bench's stand-in for a partner: one WebSocket speaking the Duo frames (hello, talk, ack)
 * with the shapes from src/shared/protocol.ts. Anchors speak the same subset, so one client drives
 * both our broker and the raw servers. No zod on this side: validation belongs to the server
 * under test, and client-side parsing cost must stay small and equal for everyone.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { ClientFrame, Message, RegisterReply, SentFrame, ServerFrame } from '../../src/shared/protocol.ts';
import { ensureOwnerToken } from '../../src/shared/owner-token.ts';
import type { HttpClient } from './http.ts';

export type Destination = { to: string } | { conversationId: string };

interface PendingTalk {
  resolve: (frame: SentFrame) => void;
  reject: (error: Error) => void;
}

export interface ConnectOptions {
  since?: number;
  /** How long to wait for `welcome`. */
  timeoutMs?: number;
  /** Set before `hello`, so messages replayed right after `welcome` are not missed. */
  onMessage?: (message: Message, at: number) => void;
}

export class WsPartner {
  /** Called for every pushed message, with the arrival time (performance.now()). */
  onMessage: (message: Message, at: number) => void = () => {};
  /** Arrival times of WebSocket pings from the server (its heartbeat). */
  readonly pings: number[] = [];
  /** Highest message id received, what a real partner would send as `since` on reconnect. */
  highestId = 0;
  heartbeatMs = 0;
  private nextRef = 0;
  private readonly pending = new Map<string, PendingTalk>();

  private constructor(
    readonly partnerId: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('ping', () => this.pings.push(performance.now()));
    ws.on('close', () => {
      for (const talk of this.pending.values())
        talk.reject(new Error(`${partnerId}: socket closed with a talk in flight`));
      this.pending.clear();
    });
  }

  static connect(wsUrl: string, partnerId: string, secret: string, options: ConnectOptions = {}): Promise<WsPartner> {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const partner = new WsPartner(partnerId, ws);
    if (options.onMessage) partner.onMessage = options.onMessage;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`${partnerId}: no welcome within ${options.timeoutMs ?? 15_000} ms`));
      }, options.timeoutMs ?? 15_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      ws.once('error', fail);
      ws.once('close', (code, reason) =>
        fail(new Error(`${partnerId}: closed before welcome (${code} ${reason.toString()})`)),
      );
      ws.once('open', () => partner.send({ type: 'hello', partnerId, secret, since: options.since ?? 0 }));
      ws.on('message', (data: WebSocket.RawData) => {
        const at = performance.now();
        const frame = JSON.parse(data.toString()) as ServerFrame;
        if (frame.type === 'welcome') {
          clearTimeout(timer);
          ws.removeListener('error', fail);
          ws.removeAllListeners('close');
          ws.on('error', () => {});
          partner.heartbeatMs = frame.heartbeatMs;
          resolve(partner);
          return;
        }
        partner.handle(frame, at);
      });
    });
  }

  private handle(frame: ServerFrame, at: number): void {
    switch (frame.type) {
      case 'message':
        if (frame.message.id > this.highestId) this.highestId = frame.message.id;
        this.onMessage(frame.message, at);
        return;
      case 'sent': {
        const talk = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
        if (talk && frame.ref !== undefined) {
          this.pending.delete(frame.ref);
          talk.resolve(frame);
        }
        return;
      }
      case 'error': {
        const talk = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
        if (talk && frame.ref !== undefined) {
          this.pending.delete(frame.ref);
          talk.reject(new Error(`${this.partnerId}: ${frame.code}: ${frame.error}`));
        } else {
          console.error(`bench: ${this.partnerId} got an error frame: ${frame.code}: ${frame.error}`);
        }
        return;
      }
      default:
        return;
    }
  }

  private send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  talk(destination: Destination, content: string, clientMsgId?: string): Promise<SentFrame> {
    const ref = `r${++this.nextRef}`;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.send({ type: 'talk', ref, content, ...destination, ...(clientMsgId === undefined ? {} : { clientMsgId }) });
    });
  }

  ack(conversationId: string, upTo: number): void {
    this.send({ type: 'ack', conversationId, upTo });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the socket is closed; `terminate` drops it without a close handshake. */
  close(terminate = false): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      if (terminate) this.ws.terminate();
      else this.ws.close(1000);
    });
  }
}

/** Registers `partnerId` and returns the secret it must present from now on. */
export async function register(http: HttpClient, partnerId: string): Promise<string> {
  // A new id needs the owner token; the bench's brokers share the file run.ts set up.
  const tokenFile = process.env.DUO_OWNER_TOKEN_FILE;
  const headers: Record<string, string> = tokenFile ? { 'x-duo-token': ensureOwnerToken(tokenFile) } : {};
  const reply = await http.ok<RegisterReply>('POST', '/register', { partnerId }, undefined, headers);
  if (reply.secret === undefined) throw new Error(`${partnerId} was already registered; the bench needs fresh ids`);
  return reply.secret;
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
