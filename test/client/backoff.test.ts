import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay } from '../../src/client/backoff.ts';

describe('backoff', () => {
  it('backs off with capped full jitter', () => {
    expect(backoffDelay(0, 250, 10_000, () => 0.999)).toBe(249);
    expect(backoffDelay(3, 250, 10_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(20, 250, 10_000, () => 0.999)).toBe(9990);
    expect(backoffDelay(5, 250, 10_000, () => 0)).toBe(0);
  });

  it('counts attempts until reset', () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 1_000, random: () => 0.999 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      99, 199, 399, 799, 999,
    ]);
    backoff.reset();
    expect(backoff.next()).toBe(99);
  });
});
