/**
 * Token buckets keyed by partner id (or by address before authentication): `rate` tokens a
 * second up to `burst`. One flood never slows anyone else down.
 *
 * With other brokers on the same database, each reports the tokens it took (`onTake`) and
 * debits those the others took, so a partner spreading requests over brokers shares one budget.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Told of every token taken for a key that other brokers should debit too. */
  onTake: ((key: string) => void) | undefined;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const bucket = this.refill(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.onTake?.(key);
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate));
  }

  /** Removes `count` tokens another broker took for `key` (the bucket may go below empty). */
  debit(key: string, count: number): void {
    this.refill(key).tokens -= count;
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Drops full buckets so the map does not grow with every address ever seen. */
  sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    }
  }
}
