/**
 * The partner: one Claude Code session's presence on the broker, behind the methods its tools
 * call. Its parts stay private: the REST client, the WebSocket connection, the mailbox (inbox,
 * read state, flow control), the outbox (sending) and the registration.
 *
 * Status — starting: registering for the first time; ready: registered and connected;
 * unreachable: the broker cannot be reached (retrying); failed: the broker refused us for a
 * reason retrying will not fix; replaced: another session of this id took over; unregistered:
 * the id was unregistered (the session ended, or someone called /unregister); closed: shut down.
 */
import { EventEmitter } from 'node:events';
import { REGISTER_RETRY_FACTOR } from '../shared/defaults.ts';
import { DuoError, isTransient } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { CreateConversationBody, Message } from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { Backoff } from '../client/backoff.ts';
import { BrokerConnection, type ConnectionState } from '../client/connection.ts';
import { brokerEndpoint } from '../client/endpoint.ts';
import type { Identity } from '../client/identity.ts';
import { BrokerClient } from '../client/rest.ts';
import { nodeHttp } from '../client/transport.ts';
import { SecretStore } from '../client/secrets.ts';
import type { PartnerConfig } from './config.ts';
import { requireConversation } from './conversations.ts';
import { Mailbox } from './mailbox.ts';
import { Outbox, type SendTarget, type SentMessage } from './outbox.ts';
import { Registration } from './registration.ts';
import { waitForMessage, type WaitEnd } from './wait.ts';

export type PartnerStatus = 'starting' | 'ready' | 'unreachable' | 'failed' | 'replaced' | 'unregistered' | 'closed';

export type PublicIdentity = Omit<Identity, 'secret'>;

type PartnerEvents = { status: [status: PartnerStatus] };

export interface PartnerDeps {
  config: PartnerConfig;
  logger: Logger;
  store?: SecretStore;
  /** Run before the first broker request (to start a broker on demand). */
  beforeFirstRequest?: () => Promise<unknown>;
}

export class Partner extends EventEmitter<PartnerEvents> {
  readonly config: PartnerConfig;
  readonly logger: Logger;
  private readonly client: BrokerClient;
  private readonly connection: BrokerConnection;
  private readonly mailbox: Mailbox;
  private readonly outbox: Outbox;
  private readonly registration: Registration;
  private closed = false;

  constructor(deps: PartnerDeps) {
    super();
    const { config, logger } = deps;
    this.config = config;
    this.logger = logger;
    const endpoint = brokerEndpoint(config);
    this.client = new BrokerClient({
      endpoint,
      timeoutMs: config.requestTimeoutMs,
      beforeFirstRequest: deps.beforeFirstRequest,
      // node:http, not fetch: fetch's first use loads undici, which costs the partner ~14 MiB.
      transport: nodeHttp,
    });
    this.connection = new BrokerConnection({
      endpoint,
      logger,
      requestTimeoutMs: config.requestTimeoutMs,
      backoff: { baseMs: config.reconnectBaseMs, capMs: config.reconnectCapMs },
      since: () => this.mailbox.since,
      clientName: `duo-partner/${VERSION}`,
    });
    this.mailbox = new Mailbox(
      { maxMessages: config.inboxMaxMessages, maxBytes: config.inboxMaxBytes },
      this.connection,
    );
    this.outbox = new Outbox({ socket: this.connection, rest: this.client });
    this.registration = new Registration({
      config,
      store: deps.store ?? new SecretStore(config.secretsFile),
      client: this.client,
      logger,
      backoff: new Backoff({ baseMs: config.reconnectBaseMs * REGISTER_RETRY_FACTOR, capMs: config.reconnectCapMs }),
      onRegistered: (identity, previous) => this.onRegistered(identity, previous),
      onChange: () => this.emit('status', this.status),
    });
    this.connection.on('state', (state) => this.onConnectionState(state));
  }

  get identity(): PublicIdentity | undefined {
    const current = this.registration.current;
    if (!current) return undefined;
    const { secret: _secret, ...rest } = current;
    return rest;
  }

  get brokerUrl(): string {
    return this.config.brokerUrl;
  }

  get status(): PartnerStatus {
    const state = this.connection.state;
    if (this.closed || state === 'closed') return 'closed';
    if (state === 'replaced' || state === 'unregistered') return state;
    if (!this.registration.current) {
      const failure = this.registration.failure;
      if (!failure) return 'starting';
      return isTransient(failure) ? 'unreachable' : 'failed';
    }
    return state === 'open' ? 'ready' : 'unreachable';
  }

  /** Where `talk` without a target goes: the conversation of the message seen or sent last. */
  get lastConversation(): string | undefined {
    return this.mailbox.lastConversation;
  }

  /** Registers in the background, retrying with backoff while the broker is unreachable. */
  start(): void {
    if (!this.closed) this.registration.inBackground();
  }

  /**
   * Registers (again) with the broker; `name` changes the display name. From a session that was
   * replaced by another one, this takes the id back.
   */
  async register(name?: string): Promise<PublicIdentity> {
    if (this.closed) throw closedError();
    await this.registration.register(name);
    return this.identity!;
  }

  /** The identity to act as, or an error telling the model why there is none and what to do. */
  async requireIdentity(): Promise<PublicIdentity> {
    if (this.closed) throw closedError();
    if (this.isDormant) throw this.dormantError();
    if (!this.registration.current) await this.registration.settled();
    if (this.registration.current) return this.identity!;
    const failure = this.registration.failure;
    if (failure) throw failure;
    throw new DuoError(
      'unavailable',
      `Still connecting to the Duo broker at ${this.brokerUrl}; try again in a few seconds.`,
    );
  }

  /** Fails unless messages can flow right now (for `listen`, which would otherwise wait in vain). */
  async requireConnected(): Promise<void> {
    await this.requireIdentity();
    // Just registered or reconnecting right now: give the socket one request timeout to open.
    if (this.connection.state === 'connecting') await this.settle(this.config.requestTimeoutMs);
    if (this.isDormant) throw this.dormantError();
    if (!this.connection.isOpen) {
      throw new DuoError(
        'unavailable',
        `The Duo broker at ${this.brokerUrl} is not reachable right now (reconnecting in the background). Start it with \`duo broker\` if it is not running, then call listen again.`,
      );
    }
  }

  /** Sends a message; a `talk` without a target goes to its conversation next. */
  async talk(content: string, target: SendTarget): Promise<SentMessage> {
    await this.requireIdentity();
    const sent = await this.outbox.send(content, target);
    this.mailbox.wroteIn(sent.conversationId);
    return sent;
  }

  /** Removes up to `limit` held messages and marks them read: they are about to reach the model. */
  take(conversationId: string | undefined, limit: number): Message[] {
    return this.mailbox.take(conversationId, limit);
  }

  /** The held messages (of one conversation, when given), oldest first: none of them read yet. */
  held(conversationId?: string): readonly Message[] {
    return this.mailbox.held(conversationId);
  }

  /** True when more messages may be waiting on the broker than the inbox holds. */
  get inboxSaturated(): boolean {
    return this.mailbox.saturated;
  }

  /** Calls `listener` for every message new to the inbox; the returned function stops it. */
  onMessage(listener: (message: Message) => void): () => void {
    this.mailbox.on('message', listener);
    return () => this.mailbox.off('message', listener);
  }

  /**
   * Waits until a message (of `conversationId`, with an id above `above`) is held; fails if the
   * broker stays away.
   */
  waitForMessage(
    conversationId: string | undefined,
    timeoutMs: number,
    signal: AbortSignal,
    above?: number,
  ): Promise<WaitEnd> {
    return waitForMessage({
      arrived: (abort) => this.mailbox.waitFor(conversationId, abort, above),
      status: this,
      timeoutMs,
      graceMs: this.config.requestTimeoutMs * 2,
      signal,
      lost: () =>
        new DuoError(
          'unavailable',
          `Lost the connection to the Duo broker at ${this.brokerUrl} while listening; nothing was consumed. Call listen again in a few seconds (start the broker with \`duo broker\` if it is down).`,
        ),
      dormant: () => this.dormantError(),
    });
  }

  /** Fails unless `conversationId` is one of mine, or a direct one that my first message would start. */
  async requireConversation(conversationId: string): Promise<void> {
    const me = (await this.requireIdentity()).partnerId;
    await requireConversation(this.client, me, conversationId);
  }

  partners() {
    return this.client.partners();
  }

  conversations() {
    return this.client.conversations();
  }

  /**
   * The newest `limit` messages; the unread ones among them reach the model now (read), unless
   * the call was cancelled meanwhile.
   */
  async history(conversationId: string, limit: number, signal: AbortSignal) {
    const reply = await this.client.history(conversationId, { limit });
    if (!signal.aborted) this.mailbox.takeShown(conversationId, new Set(reply.messages.map((m) => m.id)));
    return reply;
  }

  createConversation(body: CreateConversationBody) {
    return this.client.createConversation(body);
  }

  /** Leaves a group: the broker first, then everything held of it goes. */
  async leaveConversation(conversationId: string): Promise<string> {
    const reply = await this.client.leaveConversation(conversationId);
    this.mailbox.leave(reply.conversationId);
    return reply.conversationId;
  }

  setStatus(status: string | null) {
    return this.client.setStatus(status);
  }

  setNotifications(enabled: boolean) {
    return this.client.setNotifications(enabled);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.registration.close();
    await this.connection.close();
    this.emit('status', 'closed');
  }

  /** Another session took over, or the id was unregistered: no reconnecting until register. */
  private get isDormant(): boolean {
    return this.connection.state === 'replaced' || this.connection.state === 'unregistered';
  }

  private dormantError(): DuoError {
    const id = this.registration.current?.partnerId ?? 'this id';
    if (this.connection.state === 'unregistered') {
      return new DuoError(
        'conflict',
        `Partner "${id}" was unregistered (its Claude Code session ended, or a script unregistered it), so it is offline. Call register to come back online.`,
      );
    }
    return new DuoError(
      'conflict',
      `Another Claude Code session took over partner "${id}", so this session no longer receives messages. Keep using the other session, or call register here to take the id back.`,
    );
  }

  private onRegistered(identity: Identity, previous: Identity | undefined): void {
    this.client.setCredentials({ partnerId: identity.partnerId, secret: identity.secret });
    const state = this.connection.state;
    const changed = previous?.partnerId !== identity.partnerId || previous.secret !== identity.secret;
    if (changed || !['open', 'connecting', 'waiting'].includes(state)) {
      this.connection.start({ partnerId: identity.partnerId, secret: identity.secret });
    }
  }

  private onConnectionState(state: ConnectionState): void {
    // The broker no longer accepts our secret (its database was replaced, or the id was
    // removed): register again, which either restores the id or falls back to another.
    if (state === 'unauthorized' && !this.closed) {
      this.client.setCredentials(undefined);
      this.registration.forget(
        new DuoError(
          'unavailable',
          `The Duo broker at ${this.brokerUrl} no longer accepts this partner's secret; registering again.`,
        ),
      );
      return;
    }
    this.emit('status', this.status);
  }

  /** Resolves when the connection leaves `connecting`, or after `timeoutMs`. */
  private settle(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.connection.off('state', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.connection.on('state', done);
    });
  }
}

function closedError(): DuoError {
  return new DuoError('unavailable', 'The Duo partner is shutting down.');
}
