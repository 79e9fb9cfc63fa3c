/**
 * REST client for the broker, used by the partner and the `duo` commands: every call carries
 * the partner's secret and the endpoint's headers, gives up after a short timeout so a tool never
 * hangs on a dead broker, and validates the reply against the shared schema. Requests go out
 * through broker-http.ts (failover between a team's brokers, `{error, code}` replies as DuoError).
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { PARTNER_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { DuoError } from '../shared/errors.ts';
import {
  ConversationReply,
  ConversationsReply,
  HealthReply,
  HistoryReply,
  LeaveReply,
  ListenReply,
  PartnersReply,
  RegisterReply,
  SettingsReply,
  TalkReply,
  type CreateConversationBody,
  type RegisterBody,
  type TalkBody,
} from '../shared/protocol.ts';
import {
  listenRequest,
  notUnderstood,
  replyOf,
  sendWithFailover,
  type Credentials,
  type ListenOptions,
} from './broker-http.ts';
import type { BrokerEndpoint } from './endpoint.ts';
import { fetchTransport, type Transport } from './transport.ts';

export type { Credentials, ListenOptions };

export interface BrokerClientOptions {
  endpoint: BrokerEndpoint;
  timeoutMs?: number;
  /** Awaited once, before the first request (starting a broker on demand); its failure fails that request. */
  beforeFirstRequest?: () => Promise<unknown>;
  /** How requests go out: fetch unless given (hooks use node:http, which starts faster). */
  transport?: Transport;
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Overrides the client's credentials (registration presents the stored secret, if any). */
  secret?: string | null;
  /** Repeating it changes nothing (GETs always are): it may go to the next broker after an ambiguous failure. */
  repeatable?: boolean;
  /** Overrides the client's request timeout (a long-poll waits longer). */
  timeoutMs?: number;
}

export class BrokerClient {
  private readonly endpoint: BrokerEndpoint;
  private readonly timeoutMs: number;
  private credentials: Credentials | undefined;
  private readonly beforeFirstRequest: (() => Promise<unknown>) | undefined;
  private firstRequest: Promise<unknown> | undefined;
  private readonly transport: Transport;

  constructor(options: BrokerClientOptions) {
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? PARTNER_REQUEST_TIMEOUT_MS;
    this.beforeFirstRequest = options.beforeFirstRequest;
    this.transport = options.transport ?? fetchTransport;
  }

  /** The broker in use now (the first of the list until one fails). */
  get brokerUrl(): string {
    return this.endpoint.url;
  }

  setCredentials(credentials: Credentials | undefined): void {
    this.credentials = credentials;
  }

  get partnerId(): string | undefined {
    return this.credentials?.partnerId;
  }

  /** Registers `body.partnerId`, presenting `secret` when this user already holds one. */
  register(body: RegisterBody, secret: string | undefined) {
    // Presenting the secret it holds, a registration is the same every time; creating an id is not.
    return this.request('POST', '/register', RegisterReply, {
      body,
      secret: secret ?? null,
      repeatable: secret !== undefined,
    });
  }

  unregister() {
    return this.request('POST', '/unregister', undefined, { body: {} });
  }

  /** Sends a message; without a clientMsgId one is added, so a retry on another broker is not stored twice. */
  talk(body: TalkBody) {
    const withId = body.clientMsgId === undefined ? { ...body, clientMsgId: randomUUID() } : body;
    return this.request('POST', '/talk', TalkReply, { body: withId, repeatable: true });
  }

  createConversation(body: CreateConversationBody) {
    return this.request('POST', '/conversations', ConversationReply, { body });
  }

  conversations() {
    return this.request('GET', `/conversations/${encodeURIComponent(this.requirePartnerId())}`, ConversationsReply);
  }

  leaveConversation(conversationId: string) {
    return this.request('POST', `/conversations/${encodeURIComponent(conversationId)}/leave`, LeaveReply, { body: {} });
  }

  /**
   * Unread messages of this partner, waiting up to `timeout` seconds for the first. Without
   * `peek` what it returns is marked read once the reply was written; `after` (an earlier reply's
   * cursor) first marks read what that reply returned.
   */
  listen(options: ListenOptions) {
    const { path, query, timeoutMs } = listenRequest(this.requirePartnerId(), options);
    return this.request('GET', path, ListenReply, { query, timeoutMs });
  }

  history(conversationId: string, options: { limit?: number; before?: number } = {}) {
    return this.request('GET', `/conversations/${encodeURIComponent(conversationId)}/messages`, HistoryReply, {
      query: { limit: options.limit, before: options.before },
    });
  }

  partners() {
    return this.request('GET', '/partners', PartnersReply);
  }

  setStatus(status: string | null) {
    return this.request('POST', `/partners/${encodeURIComponent(this.requirePartnerId())}/status`, SettingsReply, {
      body: { status },
      repeatable: true,
    });
  }

  setNotifications(enabled: boolean) {
    return this.request(
      'POST',
      `/partners/${encodeURIComponent(this.requirePartnerId())}/notifications`,
      SettingsReply,
      { body: { enabled }, repeatable: true },
    );
  }

  health() {
    return this.request('GET', '/health', HealthReply, { secret: null });
  }

  private requirePartnerId(): string {
    if (!this.credentials)
      throw new DuoError('unauthorized', 'This partner is not registered with the broker yet; call register first.');
    return this.credentials.partnerId;
  }

  private async request<S extends z.ZodType | undefined>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<S extends z.ZodType ? z.infer<S> : unknown> {
    if (this.beforeFirstRequest) {
      const first = this.firstRequest === undefined;
      this.firstRequest ??= this.beforeFirstRequest();
      await (first ? this.firstRequest : this.firstRequest.catch(() => undefined));
    }
    const secret = options.secret === undefined ? this.credentials?.secret : (options.secret ?? undefined);
    const answer = await sendWithFailover(this.endpoint, {
      method,
      path,
      query: options.query,
      headers: secret ? { authorization: `Bearer ${secret}` } : {},
      body: options.body,
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      repeatable: options.repeatable ?? method === 'GET',
      transport: this.transport,
    });
    const json = replyOf(answer);
    if (schema === undefined) return json as never;
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw notUnderstood(answer.brokerUrl);
    return parsed.data as never;
  }
}
