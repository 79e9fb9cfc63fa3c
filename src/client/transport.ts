/**
 * How the REST client puts one request on the wire: the small part of `fetch` it uses. `fetch`
 * is the default; `nodeHttp` does the same over node:http (node:https for https URLs, loaded only
 * then) for short-lived processes such as Claude Code hooks, which run after every tool call:
 * there the first `fetch` costs more start-up time than the request itself.
 *
 * Both report failures the way `fetch` does, so the client tells them apart in one way: a network
 * error rejects with an Error whose `cause` carries the system code (ECONNREFUSED, …), and the
 * end of the signal rejects with the signal's reason (a TimeoutError for AbortSignal.timeout).
 * Neither follows redirects.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface TransportRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | undefined;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type Transport = (url: URL, request: TransportRequest) => Promise<TransportResponse>;

export const fetchTransport: Transport = (url, request) => fetch(url, { ...request, redirect: 'error' });

export const nodeHttp: Transport = async (url, { method, headers, body, signal }) => {
  // Loaded on the first request, not with import(): that makes Node build the module's facade,
  // which on Node 22 loads all of undici for the fetch and WebSocket node:http also exports.
  const { request } =
    url.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
  return new Promise<TransportResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      req.destroy();
      reject(signal.reason);
    };
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        signal.removeEventListener('abort', onAbort);
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: { get: (name) => headerValue(res.headers, name) },
          text: () => Promise.resolve(text),
        });
      });
      res.once('error', fail);
    });
    function fail(error: Error) {
      signal.removeEventListener('abort', onAbort);
      // As fetch does: the system error (its code says whether the request left) is the cause.
      reject(signal.aborted ? signal.reason : new TypeError('request failed', { cause: error }));
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('error', fail);
    req.end(body);
  });
};

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}
