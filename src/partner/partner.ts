/**
 * The partner's state and the operations the tools share: identity and registration (retried
 * in the background while the broker is down), the broker connection, the inbox, what was
 * shown to the model and what was read. server.ts puts MCP on top of it.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { DuoError, isTransient } from '../shared/errors.ts';
import type { Message } from '../shared/protocol.ts';
import { VERSION } from '../shared/version.ts';
import { BrokerClient } from './broker-client.ts';
import type { PartnerConfig } from './config.ts';
import { BrokerConnection, backoffDelay, type ConnectionState } from './connection.ts';
import { registerIdentity, type Identity } from './identity.ts';
import { Inbox } from './inbox.ts';
import type { Logger } from './log.ts';
import { SecretStore } from './secrets.ts';

/**
 * starting: first registration in flight; ready: registered and connected; unreachable: the
 * broker cannot be reached (retrying); failed: the broker refused us for a reason retrying will
 * not fix; replaced: another session of this id took over; unregistered: the id was unregistered
 * (the session ended, or someone called /unregister); closed: shut down.
 */
export type PartnerStatus = 'starting' | 'ready' | 'unreachable' | 'failed' | 'replaced' | 'unregistered' | 'closed';

export interface SendTarget {
  to?: string;
  conversationId?: string;
}

export interface SentMessage {
  messageId: number;
  conversationId: string;
  duplicate: boolean;
}

type PartnerEvents = {
  message: [message: Message];
  status: [status: PartnerStatus];
};

export interface PartnerDeps {
  config: PartnerConfig;
  logger: Logger;
  store?: SecretStore;
  /** Run before the first broker request (to start a broker on demand). */
  beforeFirstRequest?: () => Promise<unknown>;
}

/** How many sends with an unknown outcome keep their clientMsgId for a retry. */
const MAX_UNSETTLED = 100;

/** The broker may have stored the message or not: the request did not get an answer. */
function isIndeterminate(error: unknown): boolean {
  return error instanceof DuoError && (error.code === 'unavailable' || error.code === 'internal');
}

export class Partner extends EventEmitter<PartnerEvents> {
  readonly config: PartnerConfig;
  readonly logger: Logger;
  readonly store: SecretStore;
  readonly client: BrokerClient;
  readonly inbox: Inbox;
  readonly connection: BrokerConnection;
  private current: Identity | undefined;
  private registration: Promise<Identity> | undefined;
  private failure: DuoError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private closed = false;
  /** Per conversation, the highest message id pushed to the model over the channel. */
  private readonly shown = new Map<string, number>();
  /** Per conversation, messages at or below this id were shown and then replied to: read. */
  private readonly repliedUpTo = new Map<string, number>();
  /** clientMsgIds of sends whose outcome is unknown, by text and target. */
  private readonly unsettled = new Map<string, string>();
  /** The conversation of the message the model saw last: where `talk` without a target goes. */
  private lastConversationId: string | undefined;

  constructor(deps: PartnerDeps) {
    super();
    this.config = deps.config;
    this.logger = deps.logger;
    this.store = deps.store ?? new SecretStore(deps.config.secretsFile);
    this.client = new BrokerClient({
      brokerUrl: deps.config.brokerUrl,
      token: deps.config.token,
      timeoutMs: deps.config.requestTimeoutMs,
      beforeFirstRequest: deps.beforeFirstRequest,
    });
    this.inbox = new Inbox({ maxMessages: deps.config.inboxMaxMessages, maxBytes: deps.config.inboxMaxBytes });
    this.connection = new BrokerConnection({
      brokerUrl: deps.config.brokerUrl,
      token: deps.config.token,
      inbox: this.inbox,
      logger: deps.logger,
      requestTimeoutMs: deps.config.requestTimeoutMs,
      reconnectBaseMs: deps.config.reconnectBaseMs,
      reconnectCapMs: deps.config.reconnectCapMs,
      clientName: `duo-partner/${VERSION}`,
    });
    this.connection.on('message', (message) => {
      this.makeRoom();
      this.emit('message', message);
    });
    this.connection.on('state', (state) => this.onConnectionState(state));
  }

  get identity(): Omit<Identity, 'secret'> | undefined {
    if (!this.current) return undefined;
    const { secret: _secret, ...rest } = this.current;
    return rest;
  }

  get status(): PartnerStatus {
    const state = this.connection.state;
    if (this.closed || state === 'closed') return 'closed';
    if (state === 'replaced' || state === 'unregistered') return state;
    if (!this.current) {
      if (!this.failure) return 'starting';
      return isTransient(this.failure) ? 'unreachable' : 'failed';
    }
    return state === 'open' ? 'ready' : 'unreachable';
  }

  get lastConversation(): string | undefined {
    return this.lastConversationId;
  }

  /** Registers in the background, retrying with backoff while the broker is unreachable. */
  start(): void {
    void this.registerInBackground();
  }

  /**
   * Registers (again) with the broker; `name` changes the display name. From a session that was
   * replaced by another one, this takes the id back.
   */
  async register(name?: string): Promise<Omit<Identity, 'secret'>> {
    if (this.closed) throw this.closedError();
    if (this.registration && name === undefined) await this.registration.catch(() => undefined);
    const attempt = registerIdentity(
      { config: this.config, store: this.store, client: this.client },
      name === undefined ? {} : { name },
    );
    this.registration = attempt;
    let identity: Identity;
    try {
      identity = await attempt;
    } catch (error) {
      this.failure = error instanceof DuoError ? error : new DuoError('internal', String(error));
      this.emit('status', this.status);
      throw this.failure;
    } finally {
      if (this.registration === attempt) this.registration = undefined;
    }
    this.clearRetry();
    this.failure = undefined;
    this.retryAttempt = 0;
    const previous = this.current;
    this.current = identity;
    this.client.setCredentials({ partnerId: identity.partnerId, secret: identity.secret });
    const state = this.connection.state;
    if (
      previous?.partnerId !== identity.partnerId ||
      previous.secret !== identity.secret ||
      !['open', 'connecting', 'waiting'].includes(state)
    ) {
      this.connection.start({ partnerId: identity.partnerId, secret: identity.secret });
    }
    this.logger.info('registered', {
      partnerId: identity.partnerId,
      created: identity.created,
      fallback: identity.fallback,
    });
    this.emit('status', this.status);
    return this.identity!;
  }

  /** The identity to act as, or an error telling the model why there is none and what to do. */
  async requireIdentity(): Promise<Omit<Identity, 'secret'>> {
    if (this.closed) throw this.closedError();
    if (this.isDormant) throw this.dormantError();
    if (!this.current && this.registration) await this.registration.catch(() => undefined);
    if (this.current) return this.identity!;
    if (this.failure) throw this.failure;
    throw new DuoError(
      'unavailable',
      `Still connecting to the Duo broker at ${this.config.brokerUrl}; try again in a few seconds.`,
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
        `The Duo broker at ${this.config.brokerUrl} is not reachable right now (reconnecting in the background). Start it with \`duo broker\` if it is not running, then call listen again.`,
      );
    }
  }

  /**
   * Sends over the WebSocket when it is up, else (or when the socket dies mid-request) over REST
   * with the same clientMsgId, so the broker never stores the message twice. When the outcome is
   * unknown (the broker went away before confirming), the clientMsgId is kept for this text and
   * target, so the model calling talk again with the same message cannot send it twice either.
   */
  async talk(content: string, target: SendTarget): Promise<SentMessage> {
    await this.requireIdentity();
    const key = JSON.stringify([content, target.to ?? null, target.conversationId ?? null]);
    const clientMsgId = this.unsettled.get(key) ?? randomUUID();
    const body = { content, clientMsgId, ...target };
    let sent: SentMessage;
    try {
      sent = await this.sendOnce(body);
    } catch (error) {
      if (!isIndeterminate(error)) {
        this.unsettled.delete(key);
        throw error;
      }
      // Re-inserted so the map's order stays oldest-first for the bound below.
      this.unsettled.delete(key);
      this.unsettled.set(key, clientMsgId);
      if (this.unsettled.size > MAX_UNSETTLED) this.unsettled.delete(this.unsettled.keys().next().value!);
      throw new DuoError(
        (error as DuoError).code,
        `${(error as Error).message} The message may or may not have been stored; calling talk again with the same text and target is safe: it will not be sent twice.`,
      );
    }
    this.unsettled.delete(key);
    this.repliedIn(sent.conversationId);
    this.lastConversationId = sent.conversationId;
    return { messageId: sent.messageId, conversationId: sent.conversationId, duplicate: sent.duplicate };
  }

  private async sendOnce(body: { content: string; clientMsgId: string } & SendTarget): Promise<SentMessage> {
    if (!this.connection.isOpen) return this.client.talk(body);
    try {
      return await this.connection.talk(body);
    } catch (error) {
      if (!(error instanceof DuoError) || error.code !== 'unavailable') throw error;
      return this.client.talk(body);
    }
  }

  /** Removes up to `limit` held messages and marks them read: they are about to reach the model. */
  consume(conversationId: string | undefined, limit: number): Message[] {
    const messages = this.inbox.take(conversationId === undefined ? {} : { conversationId }, limit);
    const upTo = new Map<string, number>();
    for (const message of messages)
      upTo.set(message.conversationId, Math.max(upTo.get(message.conversationId) ?? 0, message.id));
    for (const [conversation, id] of upTo) this.connection.ack(conversation, id);
    const last = messages.at(-1);
    if (last) this.lastConversationId = last.conversationId;
    this.connection.inboxDrained();
    return messages;
  }

  /** Records that a message was pushed to the model over the channel (not yet read). */
  markShown(message: Message): void {
    this.shown.set(message.conversationId, Math.max(this.shown.get(message.conversationId) ?? 0, message.id));
    this.lastConversationId = message.conversationId;
  }

  /**
   * The model replied in a conversation after messages of it were pushed to it: those count as
   * read (DESIGN §3). They stay in the inbox, out of the unread footer, so a client that ignores
   * channel notifications still gets them from `listen`: a duplicate is cheaper than a loss.
   */
  private repliedIn(conversationId: string): void {
    const upTo = this.shown.get(conversationId);
    if (upTo === undefined) return;
    this.shown.delete(conversationId);
    this.repliedUpTo.set(conversationId, Math.max(this.repliedUpTo.get(conversationId) ?? 0, upTo));
    this.connection.ack(conversationId, upTo);
    this.makeRoom();
  }

  /**
   * Answered messages are read already and stay only as a courtesy to clients that ignore
   * channel events. When the inbox is full they make room, so a channel-only session never ends
   * up paused with nothing it would call listen for.
   */
  private makeRoom(): void {
    if (!this.inbox.isFull) return;
    for (const [conversationId, upTo] of this.repliedUpTo) this.inbox.discard(conversationId, upTo);
    this.connection.inboxDrained();
  }

  /** Held messages the model has not consumed nor answered, for the unread footer. */
  unreadMessages(): Message[] {
    return this.inbox.peek().filter((message) => !this.wasAnswered(message));
  }

  /** True for a message pushed as a channel event that the model has since replied after. */
  wasAnswered(message: Message): boolean {
    return message.id <= (this.repliedUpTo.get(message.conversationId) ?? 0);
  }

  /** True when more messages may be waiting on the broker than the inbox holds (flow control). */
  get inboxSaturated(): boolean {
    return this.inbox.isFull || this.inbox.isDropping;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearRetry();
    await this.connection.close();
    this.emit('status', 'closed');
  }

  /** Another session took over, or the id was unregistered: no reconnecting until register. */
  get isDormant(): boolean {
    return this.connection.state === 'replaced' || this.connection.state === 'unregistered';
  }

  dormantError(): DuoError {
    const id = this.current?.partnerId ?? 'this id';
    if (this.connection.state === 'unregistered') {
      return new DuoError(
        'conflict',
        `Partner "${id}" was unregistered (its session ended, or someone called /unregister), so it is offline. Call register to come back online.`,
      );
    }
    return new DuoError(
      'conflict',
      `Another Claude Code session took over partner "${id}", so this session no longer receives messages. Keep using the other session, or call register here to take the id back.`,
    );
  }

  private closedError(): DuoError {
    return new DuoError('unavailable', 'The Duo partner is shutting down.');
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

  private async registerInBackground(): Promise<void> {
    if (this.closed) return;
    try {
      await this.register();
    } catch (error) {
      if (this.closed) return;
      if (!isTransient(error)) {
        this.logger.error('registration refused', { error: (error as Error).message });
        return;
      }
      const delay = backoffDelay(this.retryAttempt++, this.config.reconnectBaseMs * 4, this.config.reconnectCapMs);
      this.logger.warn('broker unreachable; will retry registration', {
        error: (error as Error).message,
        delayMs: delay,
      });
      this.clearRetry();
      this.retryTimer = setTimeout(() => void this.registerInBackground(), delay);
    }
  }

  private onConnectionState(state: ConnectionState): void {
    // The broker no longer accepts our secret (its database was replaced, or the id was
    // removed): register again, which either restores the id or falls back to another.
    if (state === 'unauthorized' && !this.closed) {
      this.current = undefined;
      this.client.setCredentials(undefined);
      this.failure = new DuoError(
        'unavailable',
        `The Duo broker at ${this.config.brokerUrl} no longer accepts this partner's secret; registering again.`,
      );
      this.clearRetry();
      const delay = backoffDelay(this.retryAttempt++, this.config.reconnectBaseMs * 4, this.config.reconnectCapMs);
      this.retryTimer = setTimeout(() => void this.registerInBackground(), delay);
    }
    this.emit('status', this.status);
  }

  private clearRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}
