/**
 * Where the brokers are, which one is in use, and what every request to them carries besides the
 * partner's secret. The REST client and the WebSocket connection both take their URL and headers
 * from here, so a new header is added in one place, and a failure seen by one moves both on.
 *
 * BROKER_URL may list several brokers of one team (`https://a:3210,https://b:3210`, sharing one
 * database). The endpoint holds that list and the current choice: the first at start, the next
 * one after a connection-level failure of the current one, wrapping around. It counts failures
 * since the last success so a caller knows when every broker of the list has failed in turn
 * (that is when waiting makes sense; before, the next broker is tried at once).
 *
 * `X-Duo-Token` carries DUO_TOKEN when it is set (the team's access token: every broker of the
 * list gets it), else the owner token the broker of this user wrote to its file: creating a new
 * partner id needs it, and partners and `duo` commands of the same user should find it with no
 * configuration. The file is read lazily and re-read until it exists (a broker started after the
 * partner creates it); a missing or unreadable file only means the header is left out. The file's
 * token is sent to a loopback broker only: it belongs to the broker on this machine, and a broker
 * elsewhere must not learn it.
 */
import { DuoError } from '../shared/errors.ts';
import { OWNER_TOKEN_HEADER, tryReadOwnerToken } from '../shared/owner-token.ts';

export interface BrokerEndpoint {
  /** Every broker URL of the list, in order, without trailing slashes. */
  readonly urls: readonly string[];
  /** The broker in use now, e.g. `http://localhost:3210`. */
  readonly url: string;
  /** Headers every HTTP request and WebSocket upgrade to `url` (default: the current one) carries. */
  headers(url?: string): Record<string, string>;
  /**
   * A connection to `url` failed (refused, reset, timed out, went silent): when it is still the
   * current one, move on to the next. True when every broker of the list has failed since the
   * last success, once per full round (the caller should back off before the next attempt).
   */
  failed(url: string): boolean;
  /** A broker answered: the next failure starts a new round. */
  succeeded(url: string): void;
}

export interface EndpointOptions {
  /** One broker URL, or several separated by commas. */
  brokerUrl: string;
  /** DUO_TOKEN, sent as `X-Duo-Token` when set. */
  token?: string | undefined;
  /** The owner-token file, whose content is sent as `X-Duo-Token` to a loopback broker when DUO_TOKEN is not set. */
  ownerTokenFile?: string | undefined;
}

export function brokerEndpoint(options: EndpointOptions): BrokerEndpoint {
  const urls = splitBrokerUrls(options.brokerUrl);
  const { token, ownerTokenFile } = options;
  let current = 0;
  let failures = 0;
  let ownerToken: string | undefined;
  function tokenFor(url: string): string | undefined {
    if (token) return token;
    if (ownerTokenFile === undefined || !isLoopbackUrl(url)) return undefined;
    ownerToken ??= tryReadOwnerToken(ownerTokenFile);
    return ownerToken;
  }
  return {
    urls,
    get url() {
      return urls[current]!;
    },
    headers(url = urls[current]!): Record<string, string> {
      const value = tokenFor(url);
      return value ? { [OWNER_TOKEN_HEADER]: value } : {};
    },
    failed(url) {
      if (url === urls[current]) {
        current = (current + 1) % urls.length;
        failures++;
      }
      if (failures < urls.length) return false;
      failures = 0;
      return true;
    },
    succeeded(url) {
      if (url === urls[current]) failures = 0;
    },
  };
}

/** The URLs of a BROKER_URL list, trimmed, without trailing slashes; empty entries are skipped. */
export function splitBrokerUrls(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim().replace(/\/+$/, ''))
    .filter((entry) => entry !== '');
}

/**
 * Refuses to send secrets in clear text across a network: every http:// URL of the list must name
 * this machine, unless the user said plain HTTP is fine (a trusted private network).
 */
export function checkPlainHttp(urls: readonly string[], allowPlainHttp: boolean): void {
  if (allowPlainHttp) return;
  const plain = urls.find((url) => url.startsWith('http:') && !isLoopbackUrl(url));
  if (plain === undefined) return;
  const https = plain.replace(/^http:/, 'https:');
  throw new DuoError(
    'bad_request',
    `Refusing to send the partner's secret and access token over plain http to ${plain}, which is not on this machine: anyone on the path could read them. Use ${https} (a broker started with --tls-cert and --tls-key), or set DUO_ALLOW_PLAIN_HTTP=1 if the network is trusted.`,
  );
}

/**
 * Whether `url` names this machine: `localhost`, 127.0.0.0/8 or ::1, literally. Other names under
 * `.localhost` are not trusted: resolvers and /etc/hosts may send them anywhere.
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  // Not isLoopbackHost of shared/config.ts: that module loads zod, which the hooks must not.
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The broker's WebSocket URL: same host and path, `ws:` or `wss:`, ending in `/ws`. */
export function webSocketUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  return url.toString();
}
