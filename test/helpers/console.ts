/**
 * The human's side of a test broker: one-time login codes (with the broker's owner token),
 * console sessions (the cookie a browser would keep), console API calls and a watch-stream
 * client that records every frame.
 */
import WebSocket from 'ws';
import { WatchFrame } from '../../src/shared/console-protocol.ts';
import type { TestBroker } from './broker.ts';
import { api } from './clients.ts';

export async function mintLogin(broker: TestBroker, partnerId = 'ada', name?: string) {
  const reply = await api(broker.url, 'POST', '/console/codes', {
    headers: { 'x-duo-token': broker.broker.ownerToken },
    body: { partnerId, ...(name === undefined ? {} : { name }) },
  });
  if (reply.status !== 200) throw new Error(`minting a login failed: ${JSON.stringify(reply.body)}`);
  return reply.body as { partnerId: string; name: string; code: string; path: string; expiresAt: string };
}

/** What the console page sends on every API call: the cookie and its tab's page key. */
export interface ConsoleAuth {
  cookie: string;
  'x-duo-session': string;
}

/** Logs in as the human `partnerId`; returns the Cookie header a browser would send and the page's key. */
export async function consoleLogin(broker: TestBroker, partnerId = 'ada'): Promise<ConsoleAuth> {
  const { code } = await mintLogin(broker, partnerId);
  const reply = await api(broker.url, 'POST', '/console/api/session', { body: { code } });
  if (reply.status !== 200) throw new Error(`console login failed: ${JSON.stringify(reply.body)}`);
  const cookie = reply.headers.get('set-cookie') ?? '';
  return { cookie: cookie.split(';')[0]!, 'x-duo-session': reply.body.pageKey as string };
}

/**
 * The same console session as a browser sends it to another broker of a team. The cookie is named
 * for the port the request goes to; test brokers each listen on their own port (behind one
 * address, as a load balancer serves a team, the name would not change).
 */
export function sessionOn(auth: ConsoleAuth, broker: TestBroker): ConsoleAuth {
  const token = auth.cookie.slice(auth.cookie.indexOf('=') + 1);
  return { ...auth, cookie: `duo_console_${broker.port}=${token}` };
}

/** The subprotocols the console page offers on /watch: the page key cannot travel as a header there. */
export function watchProtocols(auth: ConsoleAuth): string[] {
  return ['duo-watch', `duo-session.${auth['x-duo-session']}`];
}

export function consoleApi(
  broker: TestBroker,
  auth: Partial<ConsoleAuth>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return api(broker.url, method, path, { headers: { ...auth, ...headers }, ...(body === undefined ? {} : { body }) });
}

/** A watch-stream client: every frame it received, and a way to wait for one. */
export class Watcher {
  readonly frames: WatchFrame[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, headers: Record<string, string>, since?: number, protocols: string[] = []) {
    const query = since === undefined ? '' : `?since=${since}`;
    this.socket = new WebSocket(`${url.replace(/^http/, 'ws')}/watch${query}`, protocols, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => this.frames.push(WatchFrame.parse(JSON.parse(data.toString()))));
  }

  messageIds(): number[] {
    return this.frames.flatMap((f) => (f.type === 'message' ? [f.message.id] : []));
  }

  async until(check: (w: Watcher) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.close();
  }
}

/** A watcher of a console session (cookie and page key, as the console page opens it). */
export function watchAs(broker: TestBroker, auth: ConsoleAuth): Watcher {
  return new Watcher(broker.url, { cookie: auth.cookie }, undefined, watchProtocols(auth));
}

/** Whether a console session's watch upgrade opens (101, then closed again), or its refusal status. */
export async function watchStatus(broker: TestBroker, auth: ConsoleAuth): Promise<number> {
  const watcher = watchAs(broker, auth);
  return watcher.opened.then(
    () => {
      watcher.close();
      return 101;
    },
    (error: Error) => Number(/refused: (\d+)/.exec(error.message)?.[1]),
  );
}

/** A watcher authenticated with the broker's owner token, open and past its first frame. */
export async function watchAsOwner(broker: TestBroker, since?: number): Promise<Watcher> {
  const watcher = new Watcher(broker.url, { 'x-duo-token': broker.broker.ownerToken }, since);
  await watcher.opened;
  await watcher.until((w) => w.frames.length > 0, 'the watching frame');
  return watcher;
}
