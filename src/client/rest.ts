/**
 * REST client for the broker, used by the partner and the `duo` commands: every call carries
 * the partner's secret and the endpoint's headers, gives up after a short timeout so a tool never
 * hangs on a dead broker, validates the reply against the shared schema and turns
 * `{error, code}` replies into DuoError.
 */
import type { z } from 'zod';
import { PARTNER_REQUEST_TIMEOUT_MS } from '../shared/defaults.ts';
import { codeForStatus, DuoError, isErrorCode } from '../shared/errors.ts';
import {
  ConversationReply,
  ConversationsReply,
  ErrorReply,
  HealthReply,
  HistoryReply,
  LeaveReply,
  PartnersReply,
  RegisterReply,
  SettingsReply,
  TalkReply,
  type CreateConversationBody,
  type RegisterBody,
  type TalkBody,
} from '../shared/protocol.ts';
import type { BrokerEndpoint } from './endpoint.ts';

export interface BrokerClientOptions {
  endpoint: BrokerEndpoint;
  timeoutMs?: number;
  /** Awaited once, before the first request (starting a broker on demand); its failure fails that request. */
  beforeFirstRequest?: () => Promise<unknown>;
}

export interface Credentials {
  partnerId: string;
  secret: string;
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Overrides the client's credentials (registration presents the stored secret, if any). */
  secret?: string | null;
}

export class BrokerClient {
  private readonly endpoint: BrokerEndpoint;
  private readonly timeoutMs: number;
  private credentials: Credentials | undefined;
  private readonly beforeFirstRequest: (() => Promise<unknown>) | undefined;
  private firstRequest: Promise<unknown> | undefined;

  constructor(options: BrokerClientOptions) {
    this.endpoint = options.endpoint;
    this.timeoutMs = options.timeoutMs ?? PARTNER_REQUEST_TIMEOUT_MS;
    this.beforeFirstRequest = options.beforeFirstRequest;
  }

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
    return this.request('POST', '/register', RegisterReply, { body, secret: secret ?? null });
  }

  unregister() {
    return this.request('POST', '/unregister', undefined, { body: {} });
  }

  talk(body: TalkBody) {
    return this.request('POST', '/talk', TalkReply, { body });
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
    });
  }

  setNotifications(enabled: boolean) {
    return this.request(
      'POST',
      `/partners/${encodeURIComponent(this.requirePartnerId())}/notifications`,
      SettingsReply,
      {
        body: { enabled },
      },
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
    const url = new URL(this.brokerUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { ...this.endpoint.headers(), accept: 'application/json' };
    const secret = options.secret === undefined ? this.credentials?.secret : (options.secret ?? undefined);
    if (secret) headers.authorization = `Bearer ${secret}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    let text: string;
    const timeoutMs = this.timeoutMs;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      throw unreachable(this.brokerUrl, error, timeoutMs);
    }

    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new DuoError(
        'internal',
        `The broker at ${this.brokerUrl} answered with something that is not JSON (HTTP ${response.status}); check that BROKER_URL points at a Duo broker.`,
      );
    }
    if (!response.ok) throw errorFromReply(response, json, this.brokerUrl);
    if (schema === undefined) return json as never;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DuoError(
        'internal',
        `The broker at ${this.brokerUrl} sent a reply this version does not understand; the broker and partner versions may not match (run \`duo doctor\`).`,
      );
    }
    return parsed.data as never;
  }
}

export function unreachable(brokerUrl: string, cause?: unknown, timeoutMs?: number): DuoError {
  const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
  const why = timedOut ? `did not answer within ${Math.round((timeoutMs ?? 0) / 100) / 10} s` : 'is not reachable';
  return new DuoError(
    'unavailable',
    `The Duo broker at ${brokerUrl} ${why}. Start it with \`duo broker\` (or check BROKER_URL), then try again.`,
    { cause },
  );
}

function errorFromReply(response: Response, json: unknown, brokerUrl: string): DuoError {
  const reply = ErrorReply.safeParse(json);
  const retryAfter = Number(response.headers.get('retry-after'));
  const options = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : undefined;
  if (reply.success) {
    const code = isErrorCode(reply.data.code) ? reply.data.code : codeForStatus(response.status);
    return new DuoError(code, reply.data.error, options);
  }
  return new DuoError(
    codeForStatus(response.status),
    `The broker at ${brokerUrl} answered HTTP ${response.status}.`,
    options,
  );
}
