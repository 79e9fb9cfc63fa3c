/**
 * REST client for the broker, used by the partner and the `duo` commands: every call carries
 * the partner's secret and the endpoint's headers, gives up after a short timeout so a tool never
 * hangs on a dead broker, validates the reply against the shared schema and turns
 * `{error, code}` replies into DuoError.
 *
 * With several brokers in the endpoint's list, a request that fails at the connection level moves
 * on to the next broker, each tried once per request. That is always done when the request never
 * left (refused, no such host, no TLS handshake); after a failure that may have reached the broker
 * (reset, timeout, or a 502/503 that is not one of our `{error, code}` replies, i.e. a proxy's), only
 * for requests that are safe to repeat: reads, and writes whose repetition changes nothing (a talk
 * carries a clientMsgId, the client adds one when the caller did not; settings are set, not
 * toggled; a registration presenting its secret). An answer of ours, 4xx or 5xx, never fails over.
 */
import { randomUUID } from 'node:crypto';
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
  ListenReply,
  PartnersReply,
  RegisterReply,
  SettingsReply,
  TalkReply,
  type CreateConversationBody,
  type RegisterBody,
  type TalkBody,
} from '../shared/protocol.ts';
import { splitBrokerUrls, type BrokerEndpoint } from './endpoint.ts';
import { fetchTransport, type Transport, type TransportResponse } from './transport.ts';

export interface BrokerClientOptions {
  endpoint: BrokerEndpoint;
  timeoutMs?: number;
  /** Awaited once, before the first request (starting a broker on demand); its failure fails that request. */
  beforeFirstRequest?: () => Promise<unknown>;
  /** How requests go out: fetch unless given (hooks use node:http, which starts faster). */
  transport?: Transport;
}

/** A REST `/listen` of the client's partner. `timeout` is in seconds; `above` needs `peek`. */
export interface ListenOptions {
  timeout: number;
  peek?: boolean;
  above?: number;
  after?: string;
  limit?: number;
  conversationId?: string;
}

/** Beyond a long-poll's own timeout, how long its request may take before it counts as lost. */
const LISTEN_GRACE_MS = 5_000;

export interface Credentials {
  partnerId: string;
  secret: string;
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

/** Connection errors that mean the request never reached a broker: trying another is always safe. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

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
    const { timeout, peek, above, after, limit, conversationId } = options;
    return this.request('GET', `/listen/${encodeURIComponent(this.requirePartnerId())}`, ListenReply, {
      query: { timeout, peek: peek ? 1 : undefined, above, after, limit, conversationId },
      timeoutMs: timeout * 1000 + LISTEN_GRACE_MS,
    });
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
    const { brokerUrl, response, text } = await sendWithFailover(this.endpoint, {
      method,
      path,
      query: options.query,
      headers: secret ? { authorization: `Bearer ${secret}` } : {},
      body: options.body,
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      repeatable: options.repeatable ?? method === 'GET',
      transport: this.transport,
    });
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new DuoError(
        'internal',
        `The broker at ${brokerUrl} answered with something that is not JSON (HTTP ${response.status}); check that BROKER_URL points at a Duo broker.`,
      );
    }
    if (!response.ok) throw errorFromReply(response, json, brokerUrl);
    if (schema === undefined) return json as never;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DuoError(
        'internal',
        `The broker at ${brokerUrl} sent a reply this version does not understand; the broker and partner versions may not match (run \`duo doctor\`).`,
      );
    }
    return parsed.data as never;
  }
}

export interface FailoverRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  /** Besides the endpoint's own headers. */
  headers: Record<string, string>;
  /** Sent as JSON when set. */
  body?: unknown;
  timeoutMs: number;
  /** Repeating it changes nothing: it may go to the next broker after an ambiguous failure. */
  repeatable: boolean;
  /** fetch unless given. */
  transport?: Transport;
}

export interface Answer {
  /** The broker that answered. */
  brokerUrl: string;
  response: TransportResponse;
  text: string;
}

/**
 * Sends a request to the endpoint's current broker and, after a failure that allows it, to the
 * next ones, each at most once. Resolves with the first answer of a broker (whatever its status);
 * rejects with the DuoError of the last failure.
 */
export async function sendWithFailover(endpoint: BrokerEndpoint, request: FailoverRequest): Promise<Answer> {
  const { method, timeoutMs, repeatable } = request;
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const tried: string[] = [];
  let failure: DuoError | undefined;
  for (;;) {
    const brokerUrl = endpoint.url;
    if (tried.includes(brokerUrl)) break;
    tried.push(brokerUrl);
    const url = new URL(brokerUrl + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      ...endpoint.headers(brokerUrl),
      accept: 'application/json',
      ...request.headers,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let again: boolean;
    try {
      const response = await (request.transport ?? fetchTransport)(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (!fromProxy(response, text)) {
        endpoint.succeeded(brokerUrl);
        return { brokerUrl, response, text };
      }
      if (!repeatable) return { brokerUrl, response, text };
      failure = errorFromReply(response, undefined, brokerUrl);
      again = true;
    } catch (error) {
      failure = unreachable(brokerUrl, error, timeoutMs);
      again = repeatable || neverSent(error);
    }
    // The next request (and the WebSocket) goes to the next broker either way.
    endpoint.failed(brokerUrl);
    if (!again) break;
  }
  if (tried.length > 1 && failure?.code === 'unavailable') throw unreachable(tried.join(','), failure.cause, timeoutMs);
  throw failure ?? unreachable(endpoint.url);
}

/**
 * The error for a broker (or every broker of a list) that could not be reached: what happened,
 * and what to do about it.
 */
export function unreachable(brokerUrl: string, cause?: unknown, timeoutMs?: number): DuoError {
  const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
  const urls = splitBrokerUrls(brokerUrl);
  const tls = untrustedCertificate(cause);
  const why = timedOut
    ? `did not answer within ${Math.round((timeoutMs ?? 0) / 100) / 10} s`
    : tls
      ? `presented a TLS certificate this machine does not trust (${tls})`
      : 'is not reachable';
  const where =
    urls.length > 1
      ? `None of the Duo brokers ${urls.join(', ')} answered; the last one`
      : `The Duo broker at ${brokerUrl}`;
  const fix = tls
    ? 'For a self-signed certificate, set NODE_EXTRA_CA_CERTS to its CA file (PEM) in the environment of the partner and of duo, then try again.'
    : 'Start it with `duo broker` (or check BROKER_URL), then try again.';
  return new DuoError('unavailable', `${where} ${why}. ${fix}`, { cause });
}

/** The error code of a refused TLS certificate behind a fetch failure, if that is what it was. */
function untrustedCertificate(cause: unknown): string | undefined {
  const code =
    (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code ?? (cause as { code?: unknown })?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) ? code : undefined;
}

/** Whether a failed fetch never reached the broker (so the request cannot have taken effect). */
function neverSent(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' && (NEVER_SENT.has(code) || untrustedCertificate(error) !== undefined);
}

/** A 502 or 503 that is not one of our `{error, code}` replies: a proxy saying its broker is gone. */
function fromProxy(response: TransportResponse, text: string): boolean {
  if (response.status !== 502 && response.status !== 503) return false;
  try {
    const reply = ErrorReply.safeParse(JSON.parse(text));
    return !(reply.success && isErrorCode(reply.data.code));
  } catch {
    return true;
  }
}

export function errorFromReply(response: TransportResponse, json: unknown, brokerUrl: string): DuoError {
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
