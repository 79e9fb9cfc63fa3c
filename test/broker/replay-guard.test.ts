/**
 * The replay guard of team mode on its own, against a hand-set clock: each payload of a sender is
 * taken once, late ones within the reorder limit still are, old ones never, and a restarted
 * broker (a new sender id) is never locked out by the sequence numbers of its previous life.
 */
import { describe, expect, it } from 'vitest';
import { ReplayGuard } from '../../src/broker/cluster/replay.ts';
import { CLUSTER_LISTEN_MARGIN_MS, CLUSTER_REORDER_LIMIT, CLUSTER_REPLAY_WINDOW_MS } from '../../src/shared/limits.ts';

function guardAt(start: number) {
  const clock = { now: start };
  const guard = new ReplayGuard(() => clock.now);
  guard.listening();
  return { guard, clock };
}

describe('the cluster replay guard', () => {
  it('takes each sequence number of a sender once, in any order within the reorder limit', () => {
    const { guard, clock } = guardAt(1_000_000);
    const at = clock.now;
    expect(guard.check({ b: 'a', n: 1, at })).toBeUndefined();
    expect(guard.check({ b: 'a', n: 3, at })).toBeUndefined();
    // Committed out of order: 2 arrives after 3, and is still new.
    expect(guard.check({ b: 'a', n: 2, at })).toBeUndefined();
    for (const n of [1, 2, 3]) expect(guard.check({ b: 'a', n, at })).toBe('seen');
    // Another sender's numbers are its own.
    expect(guard.check({ b: 'b', n: 1, at })).toBeUndefined();
    // Far behind the newest: refused even if never seen.
    expect(guard.check({ b: 'a', n: 3 + CLUSTER_REORDER_LIMIT + 10, at })).toBeUndefined();
    expect(guard.check({ b: 'a', n: 5, at })).toBe('seen');
  });

  it('refuses what was sent before the window, or well before it started listening', () => {
    const { guard, clock } = guardAt(1_000_000);
    expect(guard.check({ b: 'a', n: 1, at: clock.now - CLUSTER_LISTEN_MARGIN_MS - 1 })).toBe('stale');
    expect(guard.check({ b: 'a', n: 2, at: clock.now - CLUSTER_LISTEN_MARGIN_MS + 100 })).toBeUndefined();
    clock.now += CLUSTER_REPLAY_WINDOW_MS + 1_000;
    expect(guard.check({ b: 'a', n: 3, at: clock.now - CLUSTER_REPLAY_WINDOW_MS - 1 })).toBe('stale');
    expect(guard.check({ b: 'a', n: 4, at: clock.now })).toBeUndefined();
  });

  it('forgets a sender once its newest payload is past the window; its payloads stay refused', () => {
    const { guard, clock } = guardAt(1_000_000);
    const old = { b: 'gone', n: 7, at: clock.now };
    expect(guard.check(old)).toBeUndefined();
    clock.now += CLUSTER_REPLAY_WINDOW_MS + 1;
    guard.sweep();
    expect(guard.check(old)).toBe('stale');
    // The same broker restarted: a new id, numbers from 1 again, fresh times.
    expect(guard.check({ b: 'restarted', n: 1, at: clock.now })).toBeUndefined();
  });

  it('keeps its memory bounded under a long stream', () => {
    const { guard, clock } = guardAt(1_000_000);
    for (let n = 1; n <= 5 * CLUSTER_REORDER_LIMIT; n++)
      expect(guard.check({ b: 'busy', n, at: clock.now })).toBeUndefined();
    const seen = (guard as unknown as { senders: Map<string, { seen: Set<number> }> }).senders.get('busy')!.seen;
    expect(seen.size).toBeLessThanOrEqual(2 * CLUSTER_REORDER_LIMIT + 1);
    expect(guard.check({ b: 'busy', n: 5 * CLUSTER_REORDER_LIMIT, at: clock.now })).toBe('seen');
  });
});
