/**
 * Shares rate-limit spending between the brokers of a team: every token a limiter here takes
 * for a partner or an address is counted, and the counts go out to the others a few times a
 * second, where they are debited. A partner that spreads its requests over several brokers
 * therefore gets one budget, not one per broker (give or take one report interval).
 */
import { CLUSTER_RATE_REPORT_MS } from '../../shared/limits.ts';
import type { RateLimiter } from '../rate-limit.ts';
import { chunked } from './events.ts';
import type { Peers } from './peers.ts';

type LimiterName = 'requests' | 'auth';

/** Keys that only mean something on this broker (a socket before its hello). */
const LOCAL_KEY = /^socket:/;

export class RateShare {
  private readonly taken: Record<LimiterName, Map<string, number>> = { requests: new Map(), auth: new Map() };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly peers: Pick<Peers, 'publish'>,
    limiters: Record<LimiterName, RateLimiter>,
  ) {
    for (const name of ['requests', 'auth'] as const) {
      const counts = this.taken[name];
      limiters[name].onTake = (key) => {
        if (!LOCAL_KEY.test(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
      };
    }
    this.timer = setInterval(() => this.report(), CLUSTER_RATE_REPORT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private report(): void {
    for (const name of ['requests', 'auth'] as const) {
      const counts = this.taken[name];
      if (counts.size === 0) continue;
      const entries = [...counts];
      counts.clear();
      for (const chunk of chunked(entries, ([key, n]) => key.length + String(n).length + 4))
        this.peers.publish({ t: 'rate', l: name, k: Object.fromEntries(chunk) });
    }
  }
}
