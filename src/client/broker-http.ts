/**
 * The broker's REST API at the level of HTTP, without zod: one request to the endpoint's brokers
 * with failover, its JSON reply, and `{error, code}` replies turned into DuoError. rest.ts builds
 * the typed, validated client on it; the hooks use it directly, since loading zod would cost a
 * hook more than all of its own work.
 *
 * With several brokers in the endpoint's list, a request that fails at the connection level moves
 * on to the next broker, each tried once per request. That is always done when the request never
 * left (refused, no such host, no TLS handshake); after a failure that may have reached the broker
 * (reset, timeout, or a 502/503 that is not one of our `{error, code}` replies, i.e. a proxy's), only
 * for requests that are safe to repeat: reads, and writes whose repetition changes nothing (a talk
 * carries a clientMsgId, the client adds one when the caller did not; settings are set, not
 * toggled; a registration presenting its secret). An answer of ours, 4xx or 5xx, never fails over.
 */
import { codeForStatus, DuoError, isErrorCode } from '../shared/errors.ts';
import { splitBrokerUrls, type BrokerEndpoint } from './endpoint.ts';
import { fetchTransport, type Transport, type TransportResponse } from './transport.ts';

export interface Credentials {
  partnerId: string;
  secret: string;
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

/** The path, query and time limit of a `/listen` of `partnerId`. */
export function listenRequest(partnerId: string, options: ListenOptions) {
  const { timeout, peek, above, after, limit, conversationId } = options;
  return {
    path: `/listen/${encodeURIComponent(partnerId)}`,
    query: { timeout, peek: peek ? 1 : undefined, above, after, limit, conversationId },
    timeoutMs: timeout * 1000 + LISTEN_GRACE_MS,
  };
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
    const reply = errorReplyOf(JSON.parse(text));
    return !(reply && isErrorCode(reply.code));
  } catch {
    return true;
  }
}

/** An `{error, code}` reply (exactly those two strings), or undefined. */
function errorReplyOf(json: unknown): { error: string; code: string } | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { error, code, ...rest } = json as Record<string, unknown>;
  if (typeof error !== 'string' || typeof code !== 'string' || Object.keys(rest).length > 0) return undefined;
  return { error, code };
}

export function errorFromReply(response: TransportResponse, json: unknown, brokerUrl: string): DuoError {
  const reply = errorReplyOf(json);
  const retryAfter = Number(response.headers.get('retry-after'));
  const options = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : undefined;
  if (reply) {
    const code = isErrorCode(reply.code) ? reply.code : codeForStatus(response.status);
    return new DuoError(code, reply.error, options);
  }
  return new DuoError(
    codeForStatus(response.status),
    `The broker at ${brokerUrl} answered HTTP ${response.status}.`,
    options,
  );
}

/** The JSON of a broker's answer; DuoError when it is not JSON or is an error reply. */
export function replyOf({ brokerUrl, response, text }: Answer): unknown {
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
  return json;
}

/** A reply of an unexpected shape: most likely a broker of another version. */
export function notUnderstood(brokerUrl: string): DuoError {
  return new DuoError(
    'internal',
    `The broker at ${brokerUrl} sent a reply this version does not understand; the broker and partner versions may not match (run \`duo doctor\`).`,
  );
}
