/**
 * Joins this broker to the others of its PostgreSQL database: starts listening to them (and
 * applying what they say), the heartbeat, and the sharing of rate-limit spending. Loaded only in
 * team mode, so a broker on SQLite never loads the PostgreSQL driver.
 */
import type { Logger } from '../../shared/log.ts';
import type { HumanSeat } from '../console/index.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { BrokerService } from '../service.ts';
import type { Store } from '../store.ts';
import { ClusterApplier } from './apply.ts';
import { ClusterLink } from './link.ts';
import type { Peers } from './peers.ts';
import { RateShare } from './rate-share.ts';

export interface TeamDeps {
  url: string;
  store: Store;
  service: BrokerService;
  peers: Peers;
  seat: Pick<HumanSeat, 'elsewhere'>;
  limiters: Record<'requests' | 'auth', RateLimiter>;
  log: Logger;
}

export interface Team {
  /** Says goodbye to the others and stops listening. */
  leave(): Promise<void>;
}

export async function joinTeam(deps: TeamDeps): Promise<Team> {
  deps.peers.useKey(await deps.store.clusterKey());
  const link = new ClusterLink(deps.url, deps.peers, new ClusterApplier(deps), deps.log);
  await link.start();
  const rates = new RateShare(deps.peers, deps.limiters);
  return {
    async leave() {
      rates.stop();
      await link.stop();
    },
  };
}
