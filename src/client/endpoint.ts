/**
 * Where the broker is and what every request to it carries besides the partner's secret. The
 * REST client and the WebSocket connection both take their URL and headers from here, so a new
 * header (an access token read from a file, say) is added in one place.
 */

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
}

export function brokerEndpoint(options: EndpointOptions): BrokerEndpoint {
  const url = options.brokerUrl.replace(/\/+$/, '');
  const { token } = options;
  return {
    url,
    headers: (): Record<string, string> => (token ? { 'x-duo-token': token } : {}),
  };
}

/** The broker's WebSocket URL: same host and path, `ws:` or `wss:`, ending in `/ws`. */
export function webSocketUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws`;
  return url.toString();
}
