/**
 * Notices a broker that went quiet. The broker pings every heartbeat, so any frame or ping proves
 * the path alive; when none arrives for a few heartbeats the path is dead even if TCP has not
 * noticed yet (a half-open socket, a frozen peer), and the owner is told to cut it.
 */
import { SILENCE_HEARTBEATS } from '../shared/defaults.ts';
import { HEARTBEAT_MS } from '../shared/limits.ts';

export interface SilenceOptions {
  /** Called once per silence; the watch stops until `alive` is called again. */
  onSilent: () => void;
  /** The interval the broker pings at; `setHeartbeat` changes it once the broker states it. */
  heartbeatMs?: number;
  /** How many heartbeats of silence mean the path is dead. */
  heartbeats?: number;
}

export class SilenceWatch {
  private readonly onSilent: () => void;
  private readonly heartbeats: number;
  private heartbeatMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SilenceOptions) {
    this.onSilent = options.onSilent;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.heartbeats = options.heartbeats ?? SILENCE_HEARTBEATS;
  }

  get limitMs(): number {
    return this.heartbeatMs * this.heartbeats;
  }

  /** The broker sent something: start (or restart) the countdown. */
  alive(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onSilent();
    }, this.limitMs);
  }

  /** The broker said how often it pings; takes effect from the next sign of life. */
  setHeartbeat(heartbeatMs: number): void {
    this.heartbeatMs = heartbeatMs;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
