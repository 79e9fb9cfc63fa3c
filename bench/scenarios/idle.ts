/**
 * Many idle authenticated partners: what each costs the server in resident memory, and how long
 * one heartbeat sweep takes. Memory is the slope between half and all of the partners connected,
 * each point the median of several RSS readings: one-time costs (code warming up, buffer pools)
 * fall before the first point, and a single GC cannot swing the figure on its own. The sweep is seen from the clients: the spread between the first and
 * the last ping of one complete sweep (a burst of pings that reached every partner).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit, register, WsPartner } from '../lib/partner.ts';
import { median } from '../lib/stats.ts';
import { waitFor, type Target } from '../lib/target.ts';

export interface IdleResult {
  partners: number;
  /** RSS with half of the partners connected. */
  rssBeforeBytes: number;
  /** RSS with all of them connected. */
  rssAfterBytes: number;
  rssPerPartnerBytes: number;
  connectSeconds: number;
  heartbeatMs: number;
  /** Spread of one complete heartbeat sweep; undefined when none was seen in time. */
  sweepMs: number | undefined;
}

const CONNECT_CONCURRENCY = 100;

export async function idle(target: Target, prefix: string, count: number): Promise<IdleResult> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const secrets = await mapLimit(ids, 32, (id) => register(target.http, id));
  const half = Math.floor(count / 2);
  const connect = (from: number, to: number) =>
    mapLimit(ids.slice(from, to), CONNECT_CONCURRENCY, (id, i) =>
      WsPartner.connect(target.server.wsUrl, id, secrets[from + i]!),
    );

  const t0 = performance.now();
  const partners = await connect(0, half);
  let connectMs = performance.now() - t0;
  const rssBeforeBytes = await steadyRss(target);
  const t1 = performance.now();
  partners.push(...(await connect(half, count)));
  connectMs += performance.now() - t1;
  const rssAfterBytes = await steadyRss(target);

  const heartbeatMs = partners[0]?.heartbeatMs ?? 0;
  let sweepMs: number | undefined;
  if (heartbeatMs > 0) {
    const mark = performance.now();
    await waitFor(
      () => (sweepMs = completeSweep(partners, mark, heartbeatMs)) !== undefined,
      heartbeatMs * 2.5 + 5000,
      100,
    );
  }
  await mapLimit(partners, 500, (p) => p.close());
  return {
    partners: count,
    rssBeforeBytes,
    rssAfterBytes,
    rssPerPartnerBytes: (rssAfterBytes - rssBeforeBytes) / (count - half),
    connectSeconds: connectMs / 1000,
    heartbeatMs,
    sweepMs,
  };
}

async function steadyRss(target: Target): Promise<number> {
  await sleep(500);
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(await target.server.rssBytes());
    await sleep(200);
  }
  return median(readings);
}

/**
 * Pings after `mark`, grouped into bursts separated by more than half a heartbeat; the first burst
 * in which every partner was pinged is one complete sweep.
 */
function completeSweep(partners: readonly WsPartner[], mark: number, heartbeatMs: number): number | undefined {
  const times = partners.flatMap((p) => p.pings.filter((t) => t > mark)).sort((a, b) => a - b);
  let start = 0;
  for (let i = 1; i <= times.length; i++) {
    if (i === times.length || times[i]! - times[i - 1]! > heartbeatMs / 2) {
      const burst = times.slice(start, i);
      const seen = new Set<WsPartner>();
      for (const p of partners) if (p.pings.some((t) => t >= burst[0]! && t <= burst[burst.length - 1]!)) seen.add(p);
      if (seen.size === partners.length) return burst[burst.length - 1]! - burst[0]!;
      start = i;
    }
  }
  return undefined;
}
