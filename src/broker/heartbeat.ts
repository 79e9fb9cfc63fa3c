/**
 * Finds sockets whose peer went silent (a half-open TCP connection, a frozen process). One timer
 * pings every socket each interval; a socket that has not answered the previous ping, or sent
 * anything since, is terminated. Any sign of life (a pong, a frame) marks a socket alive.
 */

/** What the heartbeat needs of a socket. */
export interface PingableSocket {
  ping(): void;
  terminate(): void;
}

export class Heartbeat<S extends PingableSocket = PingableSocket> {
  private readonly alive = new Map<S, boolean>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.beat(), intervalMs);
    this.timer.unref();
  }

  /** Starts watching a socket; it counts as alive until the next beat. */
  add(socket: S): void {
    this.alive.set(socket, true);
  }

  /** The socket showed a sign of life. */
  seen(socket: S): void {
    if (this.alive.has(socket)) this.alive.set(socket, true);
  }

  remove(socket: S): void {
    this.alive.delete(socket);
  }

  /** Every socket still watched. */
  sockets(): IterableIterator<S> {
    return this.alive.keys();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: a socket that missed the previous ping is gone; the others are pinged again. */
  beat(): void {
    for (const [socket, answered] of this.alive) {
      if (!answered) {
        socket.terminate();
        continue;
      }
      this.alive.set(socket, false);
      socket.ping();
    }
  }
}
