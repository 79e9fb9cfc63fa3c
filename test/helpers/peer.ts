/**
 * A protocol-level partner for fault tests: one WebSocket that always comes back. It says hello
 * with the highest id it holds, drops ids it already has (counting them), acks what it received,
 * and sends with a clientMsgId that it re-sends after every reconnect until a `sent` arrives.
 * Each attempt is recorded as acked, failed (an error frame) or indeterminate (the socket died
 * before any reply, so the message may or may not be stored).
 */
import WebSocket from 'ws';
import { ServerFrame, type ClientFrame, type Message } from '../../src/shared/protocol.ts';
import type { Registered } from './clients.ts';

export interface PeerSend {
  clientMsgId: string;
  content: string;
  to: string;
  messageId?: number;
  duplicate?: boolean;
}

export interface PeerStats {
  acked: number;
  failed: number;
  indeterminate: number;
  duplicatesAcked: number;
  connects: number;
  wireDuplicates: number;
  redelivered: number;
  orderViolations: number;
}

interface Pending {
  send: PeerSend;
  ref: string;
  resolve: () => void;
  inFlight: boolean;
}

export class ReliablePeer {
  /** Distinct messages received, in arrival order. */
  readonly received: Message[] = [];
  readonly stats: PeerStats = {
    acked: 0,
    failed: 0,
    indeterminate: 0,
    duplicatesAcked: 0,
    connects: 0,
    wireDuplicates: 0,
    redelivered: 0,
    orderViolations: 0,
  };
  private readonly seen = new Set<number>();
  private readonly lastInConversation = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private highest = 0;
  private ws: WebSocket | undefined;
  private open = false;
  private stopped = false;
  private silenceTimer: NodeJS.Timeout | undefined;
  private nextRef = 0;
  private heartbeatMs = 15_000;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly baseUrl: string,
    readonly who: Registered,
    private readonly options: { ack?: boolean; retryMs?: number } = {},
  ) {}

  get partnerId(): string {
    return this.who.partnerId;
  }

  get isOpen(): boolean {
    return this.open;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.silenceTimer);
    this.ws?.terminate();
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves once the broker acknowledged the send (after as many reconnects as it takes). */
  send(send: PeerSend): Promise<PeerSend> {
    return new Promise((resolve) => {
      const entry: Pending = { send, ref: '', resolve: () => resolve(send), inFlight: false };
      this.pending.set(send.clientMsgId, entry);
      this.transmit(entry);
    });
  }

  /** Waits until `check` holds, re-checking on every frame. */
  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.stopped) throw new Error(`peer ${this.partnerId} stopped while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`peer ${this.partnerId}: timed out waiting for ${what} (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 100));
        this.waiters.add(done);
      });
    }
  }

  private transmit(entry: Pending): void {
    if (!this.open || !this.ws || entry.inFlight) return;
    entry.ref = `r${++this.nextRef}`;
    entry.inFlight = true;
    this.frame({
      type: 'talk',
      ref: entry.ref,
      to: entry.send.to,
      content: entry.send.content,
      clientMsgId: entry.send.clientMsgId,
    });
  }

  private frame(frame: ClientFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws`, { handshakeTimeout: 2_000 });
    this.ws = ws;
    ws.on('open', () =>
      ws.send(
        JSON.stringify({ type: 'hello', partnerId: this.who.partnerId, secret: this.who.secret, since: this.highest }),
      ),
    );
    ws.on('ping', () => this.touch(ws));
    ws.on('message', (data) => {
      this.touch(ws);
      this.onFrame(ServerFrame.parse(JSON.parse(data.toString())));
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.open = false;
      this.ws = undefined;
      clearTimeout(this.silenceTimer);
      // Whatever was in flight may or may not have been stored: send it again, same clientMsgId.
      for (const entry of this.pending.values()) {
        if (entry.inFlight) this.stats.indeterminate += 1;
        entry.inFlight = false;
      }
      if (!this.stopped) setTimeout(() => this.connect(), this.options.retryMs ?? 25);
    });
  }

  /** Silence for 2.5 heartbeats means the path is dead even if TCP has not noticed. */
  private touch(ws: WebSocket): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => ws.terminate(), this.heartbeatMs * 2.5);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.open = true;
        this.heartbeatMs = frame.heartbeatMs;
        this.stats.connects += 1;
        for (const entry of this.pending.values()) this.transmit(entry);
        break;
      case 'message':
        this.onMessage(frame.message);
        break;
      case 'sent':
      case 'error': {
        const entry = [...this.pending.values()].find((p) => p.inFlight && p.ref === frame.ref);
        if (!entry) break;
        entry.inFlight = false;
        if (frame.type === 'error') {
          // Storage busy, rate limited, shutting down: nothing stored; try again shortly.
          this.stats.failed += 1;
          setTimeout(() => this.transmit(entry), this.options.retryMs ?? 25);
          break;
        }
        this.stats.acked += 1;
        if (frame.duplicate) this.stats.duplicatesAcked += 1;
        entry.send.messageId = frame.messageId;
        entry.send.duplicate = frame.duplicate;
        this.pending.delete(entry.send.clientMsgId);
        entry.resolve();
        break;
      }
      case 'presence':
        break;
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  private onMessage(message: Message): void {
    if (message.redelivered) this.stats.redelivered += 1;
    if (this.seen.has(message.id)) {
      this.stats.wireDuplicates += 1;
      return;
    }
    this.seen.add(message.id);
    const last = this.lastInConversation.get(message.conversationId) ?? 0;
    if (message.id < last) this.stats.orderViolations += 1;
    this.lastInConversation.set(message.conversationId, Math.max(last, message.id));
    this.highest = Math.max(this.highest, message.id);
    this.received.push(message);
    if (this.options.ack !== false)
      this.frame({ type: 'ack', conversationId: message.conversationId, upTo: message.id });
  }
}
