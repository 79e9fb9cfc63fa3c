/**
 * A small TCP proxy for fault tests. It forwards bytes both ways until told to go silent: then it
 * stops reading and writing on every connection without closing any, which is what a half-open
 * path (a dead NAT entry, a pulled cable) looks like to both ends. `heal` resumes forwarding and
 * passes on any close that happened meanwhile; `cut` drops every connection at once.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** A side closed while silent; the other side learns of it on heal. */
  closedWhileSilent: boolean;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private silent = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
  ) {}

  /**
   * `listenPort`: a fixed port (to stand in again for a proxy that was closed), else any free one.
   * `listenHost`: the address to listen on (the host side of a network namespace's link, say).
   */
  static async start(
    targetPort: number,
    targetHost = '127.0.0.1',
    listenPort = 0,
    listenHost = '127.0.0.1',
  ): Promise<TcpProxy> {
    const accepted: Array<(client: Socket) => void> = [];
    const server = createServer((client) => accepted[0]?.(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, listenHost, () => resolve());
    });
    const address = server.address();
    const proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0, listenHost);
    accepted.push((client) => proxy.accept(client, targetPort, targetHost));
    return proxy;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get connections(): number {
    return this.pairs.size;
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** Stops forwarding in both directions; nothing is closed, nothing is delivered. */
  silence(): void {
    this.silent = true;
    for (const pair of this.pairs) {
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Forwards again, and closes the far side of every connection that closed meanwhile. */
  heal(): void {
    this.silent = false;
    for (const pair of this.pairs) {
      if (pair.closedWhileSilent) this.drop(pair);
      else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
  }

  /** Drops every connection (both sides see a reset). */
  cut(): void {
    for (const pair of this.pairs) this.drop(pair);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, port: number, host: string): void {
    const upstream = connect(port, host);
    const pair: Pair = { client, upstream, closedWhileSilent: false };
    this.pairs.add(pair);
    if (this.silent) {
      client.pause();
      upstream.pause();
    }
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        // Data read just before going silent is held back too: nothing crosses while silent.
        if (this.silent) {
          from.pause();
          from.unshift(chunk);
          return;
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => {
            if (!this.silent) from.resume();
          });
        }
      });
      const ended = () => {
        if (this.silent) pair.closedWhileSilent = true;
        else this.drop(pair);
      };
      from.on('end', ended);
      from.on('close', ended);
      from.on('error', ended);
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  private drop(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
