/**
 * Reconnect backoff with full jitter: the n-th retry waits a random time between 0 and
 * min(cap, base · 2^n), so many clients that lost the same broker do not come back in step.
 */

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** A number in [0, 1); Math.random unless a test needs the delays to be known. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random) {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));
}

export class Backoff {
  private attempt = 0;
  private readonly options: BackoffOptions;

  constructor(options: BackoffOptions) {
    this.options = options;
  }

  /** The delay before the next retry; each call counts as one more attempt. */
  next(): number {
    const { baseMs, capMs, random } = this.options;
    return backoffDelay(this.attempt++, baseMs, capMs, random);
  }

  /** It worked: the next failure starts from the shortest delay again. */
  reset(): void {
    this.attempt = 0;
  }
}
