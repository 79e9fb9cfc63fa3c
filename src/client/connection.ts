/**
 * One WebSocket to the broker, speaking the protocol and nothing else: it carries frames and
 * reports what arrives. It holds no messages; whoever owns them says, through `since`, the
 * highest id already held, and decides when to ack, pause and resume.
 *
 * - Every (re)connect sends `hello` with that `since`, so the broker replays only what is unread
 *   and newer.
 * - A lost socket (refused, reset, timed out, silent, closed by the broker) is reconnected to the
 *   next broker of the endpoint's list at once; only when every broker of the list has failed in
 *   turn does it wait, with jittered backoff (so one broker costs one backoff per failure, as
 *   before, and a dead first broker of a list costs one attempt, not a wait). It stays down when
 *   another session of the same id took over (close code 4001), the id was unregistered (4010) or the secret was refused
 *   (4003): then it stays down until `start` is called again, or two sessions would evict each
 *   other in a loop.
 * - A session counts as a success (the backoff and the failover round start over) only once it
 *   stayed open for SESSION_STABLE_MS: brokers that welcome and close at once are backed off from.
 * - A broker silent for a few heartbeats is cut and reconnected.
 * - `talk` waits for the broker's `sent` (the row is committed) and fails fast on a timeout or a
 *   drop; acks are kept and sent again after every reconnect.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { MAX_FRAME_BYTES, SESSION_STABLE_MS, SOCKET_CLOSE_MS } from '../shared/defaults.ts';
import { DuoError, isErrorCode } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import {
  CloseCode,
  ServerFrame,
  type ClientFrame,
  type ErrorFrame,
  type Message,
  type SentFrame,
  type TalkFrame,
  type WelcomeFrame,
} from '../shared/protocol.ts';
import { AckLedger } from './ack-ledger.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { webSocketUrl, type BrokerEndpoint } from './endpoint.ts';
import { PendingReplies } from './replies.ts';
import type { Credentials } from './rest.ts';
import { SilenceWatch } from './silence.ts';

/**
 * idle: not started; connecting: socket opening or hello sent; open: welcomed; waiting: backing
 * off before the next attempt; replaced: another session took over; unregistered: the partner
 * was unregistered (by the SessionEnd hook, say); unauthorized: the broker refused the secret;
 * closed: shut down for good. The last four stay put until `start` or `close`.
 */
export type ConnectionState =
  'idle' | 'connecting' | 'open' | 'waiting' | 'replaced' | 'unregistered' | 'unauthorized' | 'closed';

type ConnectionEvents = {
  state: [state: ConnectionState];
  message: [message: Message];
  /** The broker confirmed a `resume`: every message after this starts above `since`. */
  resumed: [since: number];
  /** The partner read `conversationId` up to `upTo`, through this or another client. */
  read: [conversationId: string, upTo: number];
};

export type TalkRequest = Omit<TalkFrame, 'type' | 'ref'>;

export interface ConnectionOptions {
  endpoint: BrokerEndpoint;
  logger: Logger;
  /** How long a talk waits for `sent`, and the socket for `welcome`. */
  requestTimeoutMs: number;
  backoff: BackoffOptions;
  /** The highest message id already held or consumed: the `since` of every hello. */
  since: () => number;
  /** Sent in hello, for the broker's logs. */
  clientName?: string;
}

/** Close codes after which reconnecting with the same credentials is pointless. */
const STAY_DOWN: Partial<Record<number, ConnectionState>> = {
  [CloseCode.replaced]: 'replaced',
  [CloseCode.unregistered]: 'unregistered',
  [CloseCode.unauthorized]: 'unauthorized',
};

export class BrokerConnection extends EventEmitter<ConnectionEvents> {
  private readonly options: ConnectionOptions;
  private readonly backoff: Backoff;
  private readonly silence: SilenceWatch;
  private readonly acks: AckLedger;
  private readonly replies = new PendingReplies<SentFrame>();
  private credentials: Credentials | undefined;
  private ws: WebSocket | undefined;
  /** The broker URL the current socket went to: its failure moves the endpoint on from there. */
  private wsUrl = '';
  private current: ConnectionState = 'idle';
  private reconnectTimer: NodeJS.Timeout | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;

  constructor(options: ConnectionOptions) {
    super();
    this.options = options;
    this.backoff = new Backoff(options.backoff);
    this.silence = new SilenceWatch({ onSilent: () => this.onSilent() });
    this.acks = new AckLedger({ sendAck: (conversationId, upTo) => this.send({ type: 'ack', conversationId, upTo }) });
  }

  get state(): ConnectionState {
    return this.current;
  }

  get isOpen(): boolean {
    return this.current === 'open';
  }

  /** Connects as `credentials`: at first, and again after `replaced`, `unregistered` or `unauthorized`. */
  start(credentials: Credentials): void {
    if (this.current === 'closed') return;
    if (this.credentials?.partnerId !== credentials.partnerId) this.acks.clear();
    this.credentials = credentials;
    this.backoff.reset();
    this.clearReconnect();
    this.drop();
    this.connect();
  }

  /** Closes the socket for good and fails what is in flight. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.clearReconnect();
    this.clearTimers();
    this.acks.stop();
    const ws = this.ws;
    this.ws = undefined;
    this.setState('closed');
    this.replies.rejectAll('The partner is shutting down.');
    if (ws) await goodbye(ws);
  }

  /** Sends a message; resolves with the broker's `sent` once the row is committed. */
  talk(request: TalkRequest): Promise<SentFrame> {
    if (!this.isOpen) return Promise.reject(new DuoError('unavailable', 'Not connected to the broker right now.'));
    const { requestTimeoutMs } = this.options;
    const { ref, reply } = this.replies.open(
      requestTimeoutMs,
      `The broker did not confirm the message within ${requestTimeoutMs / 1000} s.`,
    );
    this.send({ type: 'talk', ref, ...request });
    return reply;
  }

  /** Marks a conversation read up to `upTo`: sent now, and again after every reconnect. */
  ack(conversationId: string, upTo: number): void {
    this.acks.ack(conversationId, upTo);
  }

  /** Stops re-sending acks for a conversation this partner left. */
  forgetConversation(conversationId: string): void {
    this.acks.forget(conversationId);
  }

  /** Asks the broker to hold messages back (flow control); false when not connected. */
  pause(): boolean {
    return this.send({ type: 'pause' });
  }

  /** Asks the broker to send again what is unread above `since`; false when not connected. */
  resume(since: number): boolean {
    return this.send({ type: 'resume', since });
  }

  private connect(): void {
    if (!this.credentials || this.current === 'closed') return;
    this.setState('connecting');
    const { endpoint, requestTimeoutMs } = this.options;
    const url = endpoint.url;
    const ws = new WebSocket(webSocketUrl(url), {
      handshakeTimeout: requestTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      headers: endpoint.headers(url),
    });
    this.ws = ws;
    this.wsUrl = url;
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data, isBinary) => this.onData(ws, data.toString(), isBinary));
    ws.on('ping', () => this.onPing(ws));
    ws.on('error', (error) => this.options.logger.debug({ error: error.message }, 'websocket error'));
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onOpen(ws: WebSocket): void {
    const { partnerId, secret } = this.credentials!;
    const { clientName } = this.options;
    this.send({
      type: 'hello',
      partnerId,
      secret,
      since: this.options.since(),
      ...(clientName ? { client: clientName } : {}),
    });
    this.helloTimer = setTimeout(() => {
      this.options.logger.warn({}, 'no welcome from the broker in time; reconnecting');
      ws.terminate();
    }, this.options.requestTimeoutMs);
  }

  private onPing(ws: WebSocket): void {
    if (ws === this.ws) this.silence.alive();
  }

  private onData(ws: WebSocket, text: string, isBinary: boolean): void {
    if (ws !== this.ws) return;
    this.silence.alive();
    if (isBinary) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.options.logger.warn({}, 'ignoring a frame that is not JSON');
      return;
    }
    const parsed = ServerFrame.safeParse(json);
    if (!parsed.success) {
      this.options.logger.warn({ type: (json as { type?: unknown } | null)?.type }, 'ignoring an unknown frame');
      return;
    }
    this.onFrame(parsed.data);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        return this.onWelcome(frame);
      case 'message':
        this.emit('message', frame.message);
        return;
      case 'sent':
        this.replies.resolve(frame.ref, frame);
        return;
      case 'error':
        return this.onError(frame);
      case 'resumed':
        this.emit('resumed', frame.since);
        return;
      case 'read':
        this.emit('read', frame.conversationId, frame.upTo);
        return;
      case 'presence':
        // Presence serves clients that show who is online as it changes; the partner asks
        // /partners when the model wants to know, which covers everyone, not only contacts.
        return;
    }
  }

  private onWelcome(frame: WelcomeFrame): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    const url = this.wsUrl;
    this.stableTimer = setTimeout(() => {
      this.stableTimer = undefined;
      this.backoff.reset();
      this.options.endpoint.succeeded(url);
    }, SESSION_STABLE_MS);
    this.silence.setHeartbeat(frame.heartbeatMs);
    this.silence.alive();
    this.setState('open');
    // Acks that may have died with the old socket go again (they are idempotent).
    this.acks.sendAll();
  }

  private onError(frame: ErrorFrame): void {
    const error = new DuoError(isErrorCode(frame.code) ? frame.code : 'internal', frame.error);
    if (this.replies.reject(frame.ref, error)) return;
    this.options.logger.warn({ code: frame.code, error: frame.error }, 'broker error frame');
    // Acks carry no ref: after a refusal that passes, send them all again.
    if (frame.code === 'rate_limited' || frame.code === 'storage_busy') this.acks.refused();
  }

  private onSilent(): void {
    this.options.logger.warn({}, 'the broker went silent; reconnecting');
    this.ws?.terminate();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.clearTimers();
    this.replies.rejectAll('The connection to the broker dropped before it confirmed the message.');
    if (this.current === 'closed') return;
    this.options.logger.info({ code, reason, brokerUrl: this.wsUrl }, 'disconnected from the broker');
    const stay = STAY_DOWN[code];
    if (stay) return this.setState(stay);
    this.setState('waiting');
    // The next broker of the list right away; a wait only once all of them failed in turn.
    const wholeRound = this.options.endpoint.failed(this.wsUrl);
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = undefined;
        this.connect();
      },
      wholeRound ? this.backoff.next() : 0,
    );
  }

  /** Sends a frame if the socket is open; false otherwise (acks are kept for the next socket). */
  private send(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    if (frame.type !== 'hello' && !this.isOpen) return false;
    ws.send(JSON.stringify(frame), (error) => {
      if (error) this.options.logger.debug({ error: error.message }, 'websocket send failed');
    });
    return true;
  }

  /** Cuts the current socket without waiting; its close event is ignored. */
  private drop(): void {
    const old = this.ws;
    this.ws = undefined;
    this.clearTimers();
    old?.terminate();
  }

  private clearTimers(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
    this.silence.stop();
  }

  private clearReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private setState(state: ConnectionState): void {
    if (state === this.current) return;
    this.current = state;
    this.emit('state', state);
  }
}

/** Closes `ws` politely, cutting it if the broker does not answer in time. */
function goodbye(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, SOCKET_CLOSE_MS);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, 'partner exiting');
  });
}
