/** The per-socket frame budget, against a fake clock. */
import { describe, expect, it } from 'vitest';
import { FrameBudget, refNearStart } from '../../src/broker/frame-budget.ts';
import { RateLimiter } from '../../src/broker/rate-limit.ts';
import { RATE_LIMIT_STRIKE_PAUSE_MS, RATE_LIMIT_STRIKES } from '../../src/shared/limits.ts';

function budget(rate: number, burst: number) {
  const clock = { now: 0 };
  const limiter = new RateLimiter(rate, burst, () => clock.now);
  return { clock, limiter, budget: new FrameBudget(limiter, () => clock.now) };
}

describe('FrameBudget', () => {
  it('refuses past the burst, and asks for the socket to close after too many refusals', () => {
    const { budget: frames } = budget(1, 2);
    expect(frames.take()).toEqual({ allowed: true });
    expect(frames.take()).toEqual({ allowed: true });
    for (let i = 0; i < RATE_LIMIT_STRIKES; i++)
      expect(frames.take()).toEqual({ allowed: false, wait: 1, close: false });
    expect(frames.take()).toMatchObject({ allowed: false, close: true });
  });

  it('keeps counting refusals while a flood is let through a frame at a time', () => {
    const { clock, budget: frames } = budget(10, 1);
    frames.take();
    let verdict = frames.take();
    for (let i = 0; i < RATE_LIMIT_STRIKES * 3 && !(!verdict.allowed && verdict.close); i++) {
      clock.now += 10; // a token every 100 ms: one frame in ten passes
      verdict = frames.take();
    }
    expect(verdict).toMatchObject({ allowed: false, close: true });
  });

  it('forgets the refusals of a socket that paused as told', () => {
    const { clock, budget: frames } = budget(1, 1);
    frames.take();
    for (let i = 0; i < RATE_LIMIT_STRIKES; i++) frames.take();
    clock.now += RATE_LIMIT_STRIKE_PAUSE_MS;
    expect(frames.take()).toEqual({ allowed: true });
    for (let i = 0; i < RATE_LIMIT_STRIKES; i++) expect(frames.take()).toMatchObject({ close: false });
  });

  it('counts against the partner once identified, sharing its bucket', () => {
    const { limiter, budget: frames } = budget(1, 1);
    frames.identify('alice');
    expect(frames.take()).toEqual({ allowed: true });
    expect(limiter.take('partner:alice')).toBe(1);
  });
});

describe('refNearStart', () => {
  it('finds the ref a client put near the start, and nothing past the scanned bytes', () => {
    expect(refNearStart(Buffer.from('{"type":"talk","ref":"r7","content":"x"}'))).toBe('r7');
    expect(refNearStart(Buffer.from('{nope'))).toBeUndefined();
    expect(refNearStart(Buffer.from(`{"content":"${'x'.repeat(300)}","ref":"late"}`))).toBeUndefined();
  });
});
