/**
 * Request guards that run before any route, the WebSocket upgrade included: a web page must never
 * reach the broker (foreign Origin → 403, rebinding Host → 421), and a broker bound beyond
 * loopback demands its access token.
 */
import type { FastifyRequest } from 'fastify';
import type { BrokerConfig } from '../shared/config.ts';
import { DuoError } from '../shared/errors.ts';
import { MAX_HEADER_BYTES } from '../shared/limits.ts';
import { isConsolePath, isOwnOrigin } from './console/origin.ts';
import type { OwnerAuth } from './owner.ts';

/**
 * `credentials` tells the join token (DUO_TOKEN) and the owner token apart; a broker with
 * DUO_TOKEN lets in a request carrying either, since the owner may do all an agent may.
 */
export function createGuard(
  config: BrokerConfig,
  credentials: Pick<OwnerAuth, 'credential'>,
  /** Called for each request refused for a missing or wrong access token. */
  onRefused: () => void = () => {},
): (request: FastifyRequest) => void {
  const hosts = new Set([
    'localhost',
    '127.0.0.1',
    '[::1]',
    bracketIpv6(config.host),
    ...config.allowedHosts.map((h) => h.toLowerCase()),
  ]);
  const origins = new Set(config.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, '')));
  // Pages of a broker serving TLS come from its https:// origin.
  const secure = config.tlsCert !== undefined;

  return (request) => {
    const origin = request.headers.origin;
    const consoleOwn =
      origin !== undefined && isConsolePath(request.url) && isOwnOrigin(origin, request.headers.host, secure);
    if (origin !== undefined && !origins.has(origin.toLowerCase()) && !consoleOwn) {
      throw new DuoError(
        'origin_forbidden',
        `Requests from the web origin ${JSON.stringify(origin)} are refused. The broker is for local tools; allow an origin with DUO_ALLOWED_ORIGINS only if you must.`,
      );
    }
    const hostHeaders = countHostHeaders(request.raw.rawHeaders);
    if (hostHeaders !== 1) {
      // Node keeps only the first of several Host headers; a proxy may use another one, so a
      // request that names two hosts is refused rather than guessed at (RFC 9112, section 3.2).
      throw new DuoError(
        'bad_request',
        hostHeaders === 0
          ? 'The request has no Host header; send exactly one, such as "Host: localhost:<port>".'
          : 'The request has more than one Host header; send exactly one.',
      );
    }
    // A request target in absolute form (`GET http://other.example/health`) names a host too.
    const target = request.raw.url ?? '';
    const targetHost = target.startsWith('/') ? undefined : authorityOf(target);
    const host = hostName(request.headers.host);
    if (host === undefined || !hosts.has(host) || (targetHost !== undefined && !hosts.has(targetHost))) {
      throw new DuoError(
        'misdirected_host',
        `This broker does not answer to the host name ${JSON.stringify(request.headers.host ?? '')}. Use http://localhost:<port>, or add the name to DUO_ALLOWED_HOSTS.`,
      );
    }
    // Checked by hand after the Host (Node's parser has a higher ceiling), so oversized headers
    // from a foreign host are refused as misdirected, like every other request of theirs.
    if (headerBytes(request) > MAX_HEADER_BYTES) throw new DuoError('headers_too_large');
    // Console routes check the session cookie or the owner token themselves: a browser cannot
    // add the header to a page load or a WebSocket. /metrics has a token of its own, so that a
    // scraper never holds the join token.
    if (config.token && request.url !== '/health' && request.url !== '/metrics' && !isConsolePath(request.url)) {
      if (credentials.credential(request) === undefined) {
        onRefused();
        throw new DuoError('token_required');
      }
    }
  };
}

/** The size of the request line and headers as sent (each header as `name: value\r\n`). */
function headerBytes(request: FastifyRequest): number {
  const raw = request.raw;
  let bytes = raw.method!.length + (raw.url ?? '').length + 12;
  for (const part of raw.rawHeaders) bytes += Buffer.byteLength(part) + 2;
  return bytes;
}

function countHostHeaders(rawHeaders: string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'host') count++;
  return count;
}

/** The host name in an absolute-form request target; '' (never allowed) when it has none. */
function authorityOf(target: string): string {
  try {
    return hostName(new URL(target).host) ?? '';
  } catch {
    return '';
  }
}

/** The host name of a Host header, lower-case, without the port; IPv6 stays bracketed. */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[^:\s]+)(?::\d{1,5})?$/i.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

function bracketIpv6(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host.toLowerCase()}]` : host.toLowerCase();
}
