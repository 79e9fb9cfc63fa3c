/**
 * The broker's read-only watch stream in the browser: the session cookie and the page key
 * (offered as the subprotocol `duo-session.<key>`, since a browser cannot set headers on a
 * WebSocket) authenticate it, every committed message arrives in id order, and after a drop the stream is opened
 * again with `since` so the broker replays what was missed.
 */
import type { WatchFrame } from '../../src/shared/console-protocol.ts';
import { pageKey } from './api.ts';

export interface WatchEvents {
  frame(frame: WatchFrame): void;
  state(live: boolean): void;
  /** The stream keeps failing: the caller checks whether the session ended. */
  failing(): void;
}

const MAX_BACKOFF_MS = 5_000;

export class Watch {
  private since: number | undefined;
  private socket: WebSocket | undefined;
  private backoff = 250;
  private failures = 0;
  private stopped = false;

  constructor(private readonly events: WatchEvents) {}

  start(since?: number): void {
    this.since = since;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close();
  }

  private open(): void {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const suffix = this.since === undefined ? '' : `?since=${this.since}`;
    const key = pageKey();
    const protocols = key === undefined ? [] : ['duo-watch', `duo-session.${key}`];
    const socket = new WebSocket(`${scheme}://${location.host}/watch${suffix}`, protocols);
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      const frame = JSON.parse(String(event.data)) as WatchFrame;
      if (frame.type === 'watching') {
        this.backoff = 250;
        this.failures = 0;
        this.since ??= frame.upTo;
        this.events.state(true);
      }
      if (frame.type === 'message') this.since = Math.max(this.since ?? 0, frame.message.id);
      this.events.frame(frame);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      this.events.state(false);
      if (this.stopped) return;
      if (++this.failures >= 3) this.events.failing();
      setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    });
  }
}
