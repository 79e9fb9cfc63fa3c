import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SilenceWatch } from '../../src/client/silence.ts';

describe('SilenceWatch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports silence after the given number of heartbeats without a sign of life', () => {
    let silent = 0;
    const watch = new SilenceWatch({ onSilent: () => silent++, heartbeatMs: 100, heartbeats: 2.5 });
    watch.alive();
    vi.advanceTimersByTime(249);
    expect(silent).toBe(0);
    vi.advanceTimersByTime(1);
    expect(silent).toBe(1);
    // Once per silence: nothing more until the broker is heard from again.
    vi.advanceTimersByTime(1_000);
    expect(silent).toBe(1);
  });

  it('every sign of life restarts the countdown', () => {
    let silent = 0;
    const watch = new SilenceWatch({ onSilent: () => silent++, heartbeatMs: 100, heartbeats: 2 });
    for (let i = 0; i < 10; i++) {
      watch.alive();
      vi.advanceTimersByTime(150);
    }
    expect(silent).toBe(0);
    vi.advanceTimersByTime(50);
    expect(silent).toBe(1);
  });

  it('uses the heartbeat the broker states, from the next sign of life; stop ends the watch', () => {
    let silent = 0;
    const watch = new SilenceWatch({ onSilent: () => silent++, heartbeatMs: 15_000, heartbeats: 2 });
    watch.setHeartbeat(10);
    expect(watch.limitMs).toBe(20);
    watch.alive();
    watch.stop();
    vi.advanceTimersByTime(1_000);
    expect(silent).toBe(0);
    watch.alive();
    vi.advanceTimersByTime(20);
    expect(silent).toBe(1);
  });
});
