/**
 * A minimal JSON-over-HTTP client on node:http with keep-alive sockets. We avoid fetch (undici) on
 * purpose: its per-request overhead would be added to both our broker and the anchors and blur the
 * ratios we want to see.
 */
import { Agent, request } from 'node:http';

export interface HttpReply<T> {
  status: number;
  body: T;
}

export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, maxSockets = 256) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    secret?: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<HttpReply<T>> {
    try {
      return await this.once<T>(method, path, body, secret, extraHeaders);
    } catch (error) {
      // A kept-alive socket the server closed for idleness (its keepAliveTimeout) races with our next
      // request on it; the request never reached the server, so sending it again is safe.
      if ((error as { reusedSocket?: boolean }).reusedSocket)
        return this.once<T>(method, path, body, secret, extraHeaders);
      throw error;
    }
  }

  private once<T>(
    method: string,
    path: string,
    body: unknown,
    secret: string | undefined,
    extraHeaders: Record<string, string>,
  ): Promise<HttpReply<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...extraHeaders };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (secret !== undefined) headers.authorization = `Bearer ${secret}`;
    return new Promise((resolve, reject) => {
      const req = request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: (text === '' ? undefined : JSON.parse(text)) as T });
          } catch {
            reject(
              new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`),
            );
          }
        });
        res.once('error', reject);
      });
      req.once('error', (error: NodeJS.ErrnoException) => {
        const reset = error.code === 'ECONNRESET' || error.message === 'socket hang up';
        reject(Object.assign(error, { reusedSocket: req.reusedSocket && reset }));
      });
      req.end(payload);
    });
  }

  /** Like `request`, but a status other than 2xx is an error that quotes the reply. */
  async ok<T>(
    method: string,
    path: string,
    body?: unknown,
    secret?: string,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const reply = await this.request<T>(method, path, body, secret, extraHeaders);
    if (reply.status < 200 || reply.status >= 300) {
      throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
