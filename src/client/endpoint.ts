/**
 * Where the broker is and what every request to it carries besides the partner's secret. The
 * REST client and the WebSocket connection both take their URL and headers from here, so a new
 * header is added in one place.
 *
 * `X-Duo-Token` carries DUO_TOKEN when it is set, else the owner token the broker of this user
 * wrote to its file: creating a new partner id needs it, and partners and `duo` commands of the
 * same user should find it with no configuration. The file is read lazily and re-read until it
 * exists (a broker started after the partner creates it); a missing or unreadable file only
 * means the header is left out. The file's token is sent to a loopback broker only: it belongs
 * to the broker on this machine, and a broker elsewhere must not learn it.
 */
import { OWNER_TOKEN_HEADER, tryReadOwnerToken } from '../shared/owner-token.ts';

export interface BrokerEndpoint {
  /** The broker's base URL without a trailing slash, e.g. `http://localhost:3210`. */
  readonly url: string;
  /** Headers every HTTP request and WebSocket upgrade carries. */
  headers(): Record<string, string>;
}

export interface EndpointOptions {
  brokerUrl: string;
  /** DUO_TOKEN, sent as `X-Duo-Token` when set. */
  token?: string | undefined;
  /** The owner-token file, whose content is sent as `X-Duo-Token` when DUO_TOKEN is not set. */
  ownerTokenFile?: string | undefined;
}

export function brokerEndpoint(options: EndpointOptions): BrokerEndpoint {
  const url = options.brokerUrl.replace(/\/+$/, '');
  const { token } = options;
  const tokenFile = isLoopbackUrl(url) ? options.ownerTokenFile : undefined;
  let ownerToken: string | undefined;
  function currentToken(): string | undefined {
    if (token) return token;
    if (ownerToken === undefined && tokenFile !== undefined) ownerToken = tryReadOwnerToken(tokenFile);
    return ownerToken;
  }
  return {
    url,
    headers: (): Record<string, string> => {
      const value = currentToken();
      return value ? { [OWNER_TOKEN_HEADER]: value } : {};
    },
  };
}

/** Whether `url` names this machine (localhost, 127.0.0.0/8 or ::1). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The broker's WebSocket URL: same host and path, `ws:` or `wss:`, ending in `/ws`. */
export function webSocketUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  return url.toString();
}
