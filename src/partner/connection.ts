/**
 * The partner's one WebSocket to the broker.
 *
 * - Sends `hello` with `since` = the highest message id it already holds or consumed (lower if
 *   it had to drop one), so the broker replays only what is unread and newer; the inbox drops
 *   duplicates anyway.
 * - Reconnects with capped full-jitter exponential backoff, except when another session of the
 *   same id took over (close code 4001): then it goes dormant, or the two would evict each other
 *   in a loop.
 * - Notices a silent broker: the broker pings every heartbeat, so two and a half heartbeats
 *   without a frame or a ping means the path is dead even if TCP has not noticed yet.
 * - Flow control: `pause` when the inbox is full, `resume` once it drained below half.
 * - `talk` is request/response over the socket (`ref` → `sent` or `error`), failing fast on a
 *   timeout or a disconnect; callers retry over REST with the same clientMsgId.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { DuoError, isErrorCode } from '../shared/errors.ts';
import {
  CloseCode,
  ServerFrame,
  type ClientFrame,
  type Message,
  type PresenceFrame,
  type SentFrame,
  type TalkFrame,
  type WelcomeFrame,
} from '../shared/protocol.ts';
import type { Credentials } from './broker-client.ts';
import type { Inbox } from './inbox.ts';
import type { Logger } from './log.ts';

/**
 * idle: not started; connecting: socket opening or hello sent; open: welcomed; waiting: backing
 * off before the next attempt; replaced: another session took over (dormant); unregistered: the
 * partner was unregistered, e.g. by the SessionEnd hook (dormant); unauthorized: the broker
 * refused the secret (the owner re-registers); closed: shut down for good.
 */
export type ConnectionState =
  'idle' | 'connecting' | 'open' | 'waiting' | 'replaced' | 'unregistered' | 'unauthorized' | 'closed';

type ConnectionEvents = {
  state: [state: ConnectionState];
  message: [message: Message];
  presence: [frame: PresenceFrame];
  welcome: [frame: WelcomeFrame];
};

export interface ConnectionOptions {
  brokerUrl: string;
  token?: string;
  inbox: Inbox;
  logger: Logger;
  requestTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectCapMs: number;
  clientName?: string;
  /** Injectable for tests of the backoff; Math.random otherwise. */
  random?: () => number;
}

interface PendingTalk {
  resolve: (frame: SentFrame) => void;
  reject: (error: DuoError) => void;
  timer: NodeJS.Timeout;
}

const MAX_FRAME_BYTES = 1024 * 1024;
/** Used until the welcome frame states the broker's heartbeat. */
const DEFAULT_HEARTBEAT_MS = 15_000;
/** How long after a refused ack (rate limit, busy database) the acks go again. */
const ACK_RESEND_MS = 1_000;

export function webSocketUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  return url.toString();
}

/** Full jitter: a random delay between 0 and min(cap, base · 2^attempt). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

export class BrokerConnection extends EventEmitter<ConnectionEvents> {
  private readonly options: ConnectionOptions;
  private credentials: Credentials | undefined;
  private ws: WebSocket | undefined;
  private current: ConnectionState = 'idle';
  private attempt = 0;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, PendingTalk>();
  private nextRef = 0;
  private paused = false;
  private ackResendTimer: NodeJS.Timeout | undefined;
  /** A resume after dropped messages was sent and the broker has not confirmed it yet. */
  private resuming = false;
  /** Highest id acknowledged per conversation; re-sent after every reconnect (acks are idempotent). */
  private readonly acked = new Map<string, number>();

  constructor(options: ConnectionOptions) {
    super();
    this.options = options;
  }

  get state(): ConnectionState {
    return this.current;
  }

  get isOpen(): boolean {
    return this.current === 'open';
  }

  /** Connects as `credentials` (again after `replaced`, `unregistered` or `unauthorized`). */
  start(credentials: Credentials): void {
    if (this.current === 'closed') return;
    const switched = this.credentials?.partnerId !== credentials.partnerId;
    this.credentials = credentials;
    if (switched) this.acked.clear();
    this.attempt = 0;
    this.clearReconnect();
    if (this.ws) {
      const old = this.ws;
      this.ws = undefined;
      old.terminate();
    }
    this.connect();
  }

  /** Closes the socket for good and rejects what is in flight. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.clearReconnect();
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    this.setState('closed');
    this.failPending('The partner is shutting down.');
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1_000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'partner exiting');
    });
  }

  /** Sends a message and resolves with the broker's `sent` confirmation (the row is committed). */
  talk(frame: Omit<TalkFrame, 'type' | 'ref'>): Promise<SentFrame> {
    const ws = this.ws;
    if (this.current !== 'open' || !ws) {
      return Promise.reject(new DuoError('unavailable', 'Not connected to the broker right now.'));
    }
    const ref = `r${++this.nextRef}`;
    return new Promise<SentFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(
          new DuoError(
            'unavailable',
            `The broker did not confirm the message within ${this.options.requestTimeoutMs / 1000} s.`,
          ),
        );
      }, this.options.requestTimeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
      this.send(ws, { type: 'talk', ref, ...frame });
    });
  }

  /** Marks a conversation read up to `upTo` (sent now, or after the next reconnect). */
  ack(conversationId: string, upTo: number): void {
    if ((this.acked.get(conversationId) ?? 0) >= upTo) return;
    this.acked.set(conversationId, upTo);
    if (this.current === 'open' && this.ws) this.send(this.ws, { type: 'ack', conversationId, upTo });
  }

  private resendAcksSoon(ws: WebSocket): void {
    if (this.ackResendTimer) return;
    this.ackResendTimer = setTimeout(() => {
      this.ackResendTimer = undefined;
      if (ws !== this.ws || this.current !== 'open') return;
      for (const [conversationId, upTo] of this.acked) this.send(ws, { type: 'ack', conversationId, upTo });
    }, ACK_RESEND_MS);
    this.ackResendTimer.unref();
  }

  /** Stops re-sending acks for a conversation this partner left. */
  forgetConversation(conversationId: string): void {
    this.acked.delete(conversationId);
  }

  /** Call after taking messages out of the inbox: resumes the broker once it drained below half. */
  inboxDrained(): void {
    const { inbox } = this.options;
    if (!(this.paused || inbox.isDropping) || this.resuming || !inbox.isBelowHalf) return;
    // Disconnected: the next hello carries `since` and starts unpaused.
    if (this.current !== 'open' || !this.ws) return;
    const since = inbox.since;
    // After a drop, frames already on the way would land above the gap: keep dropping until the
    // broker confirms the resume (`resumed`), after which it sends from `since` again.
    this.resuming = inbox.isDropping;
    this.paused = false;
    this.send(this.ws, { type: 'resume', since });
  }

  private connect(): void {
    const credentials = this.credentials;
    if (!credentials || this.current === 'closed') return;
    this.setState('connecting');
    const ws = new WebSocket(webSocketUrl(this.options.brokerUrl), {
      handshakeTimeout: this.options.requestTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      headers: this.options.token ? { 'x-duo-token': this.options.token } : {},
    });
    this.ws = ws;

    ws.on('open', () => {
      this.send(ws, {
        type: 'hello',
        partnerId: credentials.partnerId,
        secret: credentials.secret,
        since: this.options.inbox.since,
        ...(this.options.clientName ? { client: this.options.clientName } : {}),
      });
      this.helloTimer = setTimeout(() => {
        this.options.logger.warn('no welcome from the broker in time; reconnecting');
        ws.terminate();
      }, this.options.requestTimeoutMs);
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      this.touch(ws);
      if (isBinary) return;
      this.onFrame(ws, data.toString());
    });
    ws.on('ping', () => {
      if (ws === this.ws) this.touch(ws);
    });
    ws.on('error', (error) => this.options.logger.debug('websocket error', { error: error.message }));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onFrame(ws: WebSocket, text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.options.logger.warn('ignoring a frame that is not JSON');
      return;
    }
    const parsed = ServerFrame.safeParse(json);
    if (!parsed.success) {
      this.options.logger.warn('ignoring an unknown frame', { type: (json as { type?: unknown } | null)?.type });
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(ws, frame);
        break;
      case 'message':
        this.onMessage(ws, frame.message);
        break;
      case 'sent': {
        const pending = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
        if (!pending || frame.ref === undefined) break;
        this.pending.delete(frame.ref);
        clearTimeout(pending.timer);
        pending.resolve(frame);
        break;
      }
      case 'error': {
        const pending = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
        const error = new DuoError(isErrorCode(frame.code) ? frame.code : 'internal', frame.error);
        if (!pending || frame.ref === undefined) {
          this.options.logger.warn('broker error frame', { code: frame.code, error: frame.error });
          // Acks carry no ref: after a refusal that passes, send them all again (they are idempotent).
          if (frame.code === 'rate_limited' || frame.code === 'storage_busy') this.resendAcksSoon(ws);
          break;
        }
        this.pending.delete(frame.ref);
        clearTimeout(pending.timer);
        pending.reject(error);
        break;
      }
      case 'resumed':
        this.resuming = false;
        this.options.inbox.resetDropping();
        if (this.options.inbox.isFull && !this.paused) this.pause(ws);
        break;
      case 'presence':
        this.emit('presence', frame);
        break;
    }
  }

  private onWelcome(ws: WebSocket, frame: WelcomeFrame): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.attempt = 0;
    this.heartbeatMs = frame.heartbeatMs;
    this.touch(ws);
    // The broker's flow-control state is per socket: start unpaused, then pause again at once
    // if the inbox is still full. Acks that may have been lost with the old socket go again.
    this.paused = false;
    this.resuming = false;
    this.options.inbox.resetDropping();
    for (const [conversationId, upTo] of this.acked) this.send(ws, { type: 'ack', conversationId, upTo });
    if (this.options.inbox.isFull) this.pause(ws);
    this.setState('open');
    this.emit('welcome', frame);
  }

  private onMessage(ws: WebSocket, message: Message): void {
    const { inbox } = this.options;
    const result = inbox.add(message);
    if (result === 'added') this.emit('message', message);
    // While a resume is unconfirmed, drops are the frames already on the way: expected, and
    // pausing again would leave the broker paused with nobody left to resume it.
    if (this.resuming) return;
    if ((result === 'dropped' || inbox.isFull) && !this.paused) this.pause(ws);
  }

  private pause(ws: WebSocket): void {
    this.paused = true;
    this.send(ws, { type: 'pause' });
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.clearTimers();
    this.failPending('The connection to the broker dropped before it confirmed the message.');
    if (this.current === 'closed') return;
    this.options.logger.info('disconnected from the broker', { code, reason });
    if (code === CloseCode.replaced) {
      this.setState('replaced');
      return;
    }
    if (code === CloseCode.unregistered) {
      this.setState('unregistered');
      return;
    }
    if (code === CloseCode.unauthorized) {
      this.setState('unauthorized');
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(
      this.attempt,
      this.options.reconnectBaseMs,
      this.options.reconnectCapMs,
      this.options.random,
    );
    this.attempt += 1;
    this.setState('waiting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** Any frame or ping proves the broker alive; silence for 2.5 heartbeats means it is not. */
  private touch(ws: WebSocket): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.options.logger.warn('the broker went silent; reconnecting');
      ws.terminate();
    }, this.heartbeatMs * 2.5);
  }

  private send(ws: WebSocket, frame: ClientFrame): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(frame), (error) => {
      if (error) this.options.logger.debug('websocket send failed', { error: error.message });
    });
  }

  private failPending(why: string): void {
    for (const [ref, pending] of this.pending) {
      this.pending.delete(ref);
      clearTimeout(pending.timer);
      pending.reject(new DuoError('unavailable', why));
    }
  }

  private clearTimers(): void {
    clearTimeout(this.helloTimer);
    clearTimeout(this.silenceTimer);
    clearTimeout(this.ackResendTimer);
    this.helloTimer = undefined;
    this.silenceTimer = undefined;
    this.ackResendTimer = undefined;
  }

  private clearReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private setState(state: ConnectionState): void {
    if (this.current === state) return;
    this.current = state;
    this.emit('state', state);
  }
}
