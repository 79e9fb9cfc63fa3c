/**
 * The rate limit of one WebSocket's incoming frames, pings included. Every frame takes a token
 * before it is decoded or parsed, so a flood costs the broker a counter update rather than a JSON
 * parse of up to the frame limit. Until the socket's hello is accepted its frames count against a
 * bucket of its own; after that against its partner's, which the partner's REST requests share.
 * A socket that keeps sending while refused is to be closed (close code 4029); one that pauses as
 * told (Retry-After is at least a second) starts again with a clean record.
 */
import type { RawData } from 'ws';
import { MAX_REF_LENGTH, RATE_LIMIT_STRIKE_PAUSE_MS, RATE_LIMIT_STRIKES } from '../shared/limits.ts';
import type { RateLimiter } from './rate-limit.ts';

export type FrameVerdict =
  | { allowed: true }
  /** Refused; `wait` is the seconds until the next frame would pass, `close` ends the socket. */
  | { allowed: false; wait: number; close: boolean };

let socketsSeen = 0;

export class FrameBudget {
  private key = `socket:${++socketsSeen}`;
  /** Refused frames since the last pause. */
  private strikes = 0;
  private lastRefusedAt = -Infinity;
  /** Tokens taken before the hello was accepted: they count against the partner's budget too. */
  private takenBeforeHello = 0;
  private identified = false;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The socket's hello was accepted: from now on its frames count as its partner's. */
  identify(partnerId: string): void {
    this.key = `partner:${partnerId}`;
    this.identified = true;
    // Frames sent while the hello was being checked must not open a second, fresh budget.
    if (this.takenBeforeHello > 0) this.limiter.debit(this.key, this.takenBeforeHello);
  }

  take(): FrameVerdict {
    const now = this.now();
    const wait = this.limiter.take(this.key);
    if (wait === 0) {
      if (!this.identified) this.takenBeforeHello += 1;
      // Not on every passing frame: a flood is let through a frame at a time as the bucket refills.
      if (now - this.lastRefusedAt >= RATE_LIMIT_STRIKE_PAUSE_MS) this.strikes = 0;
      return { allowed: true };
    }
    this.lastRefusedAt = now;
    this.strikes += 1;
    return { allowed: false, wait, close: this.strikes > RATE_LIMIT_STRIKES };
  }
}

/** How far into a refused frame its `ref` is looked for. */
const REF_SCAN_BYTES = 256;
const REF_FIELD = new RegExp(`"ref"\\s*:\\s*"([^"\\\\]{1,${MAX_REF_LENGTH}})"`);

/**
 * The `ref` of a frame refused for its rate, without parsing it: clients put `ref` near the start
 * (right after `type`), and the reply must name the request it refuses.
 */
export function refNearStart(data: RawData): string | undefined {
  if (!Buffer.isBuffer(data)) return undefined;
  return REF_FIELD.exec(data.subarray(0, REF_SCAN_BYTES).toString('utf8'))?.[1];
}
