/**
 * Joins this broker to the others of its PostgreSQL database: starts listening to them (and
 * applying what they say), the heartbeat, and the sharing of rate-limit spending. Loaded only in
 * team mode, so a broker on SQLite never loads the PostgreSQL driver.
 */
import { ClusterApplier, type ApplyDeps } from './apply.ts';
import { ClusterLink } from './link.ts';
import { RateShare } from './rate-share.ts';

export interface TeamDeps extends ApplyDeps {
  /** The database the others listen on. */
  url: string;
}

export interface Team {
  /** Says goodbye to the others and stops listening. */
  leave(): Promise<void>;
}

export async function joinTeam(deps: TeamDeps): Promise<Team> {
  deps.peers.useKey(await deps.store.clusterKey());
  const link = new ClusterLink(deps.url, deps.peers, new ClusterApplier(deps), deps.log);
  deps.metrics.watchTeam(() => link.peerCount);
  await link.start();
  try {
    // Everything stored before this broker listened is in the store for its sessions to replay.
    deps.peers.handed(await deps.store.maxMessageId());
  } catch (error) {
    // Not joined after all: the listening connection and the heartbeat must not outlive the failure.
    await link.stop();
    throw error;
  }
  const rates = new RateShare(deps.peers, deps.limiters);
  return {
    async leave() {
      rates.stop();
      await link.stop();
    },
  };
}
