/**
 * Refuses cluster notifications heard before. Anyone who can connect to the database can LISTEN,
 * capture a genuine (signed) payload and NOTIFY it again; a signature alone cannot tell the copy
 * from the original. Every payload therefore carries its sender process's id, a sequence number
 * that process never repeats, and its send time on the cluster clock (the database's), all signed.
 *
 * A payload is accepted once: never a sequence number seen from its sender before, nor one far
 * behind the newest (transactions commit out of order, but not by thousands). A sender heard for
 * the first time (a broker that just started gets a new id, so its old numbers never lock it out)
 * is believed only while its payloads are fresh: sent within the replay window, and not before
 * this broker started listening (the copies of those cannot be told from the originals it never
 * saw). Whatever is older than the window is refused outright, so a sender is forgotten once its
 * newest payload is.
 */
import { CLUSTER_LISTEN_MARGIN_MS, CLUSTER_REORDER_LIMIT, CLUSTER_REPLAY_WINDOW_MS } from '../../shared/limits.ts';
import type { Envelope } from './events.ts';

/** Why a payload was refused, for the log. */
export type Refusal = 'seen' | 'stale';

interface Sender {
  /** The highest sequence number accepted. */
  newest: number;
  /** Sequence numbers accepted within CLUSTER_REORDER_LIMIT of the newest. */
  seen: Set<number>;
  /** The newest send time accepted. */
  lastAt: number;
}

export class ReplayGuard {
  private readonly senders = new Map<string, Sender>();
  /** Nothing sent before this can be a delivery this broker is owed. */
  private floor = -Infinity;

  constructor(
    /** The cluster clock (milliseconds): this host's clock corrected to the database's. */
    private readonly now: () => number,
  ) {}

  /** Listening starts (or starts again after a drop): what was sent well before was not for us. */
  listening(): void {
    this.floor = this.now() - CLUSTER_LISTEN_MARGIN_MS;
  }

  /** Records the payload and returns undefined if it is new, else why it is refused. */
  check(envelope: Envelope): Refusal | undefined {
    const { b, n, at } = envelope;
    if (at < this.floor || at < this.now() - CLUSTER_REPLAY_WINDOW_MS) return 'stale';
    let sender = this.senders.get(b);
    if (!sender) this.senders.set(b, (sender = { newest: 0, seen: new Set(), lastAt: at }));
    if (n <= sender.newest - CLUSTER_REORDER_LIMIT || sender.seen.has(n)) return 'seen';
    sender.seen.add(n);
    sender.lastAt = Math.max(sender.lastAt, at);
    if (n > sender.newest) {
      sender.newest = n;
      // Pruned in batches: numbers this far behind are refused by the bound above anyway.
      if (sender.seen.size > 2 * CLUSTER_REORDER_LIMIT)
        for (const old of sender.seen) if (old <= n - CLUSTER_REORDER_LIMIT) sender.seen.delete(old);
    }
    return undefined;
  }

  /** Forgets senders whose newest payload is past the window: anything of theirs now is refused as stale. */
  sweep(): void {
    const oldest = this.now() - CLUSTER_REPLAY_WINDOW_MS;
    for (const [b, sender] of this.senders) if (sender.lastAt < oldest) this.senders.delete(b);
  }
}
