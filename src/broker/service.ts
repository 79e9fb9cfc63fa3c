/**
 * The broker's operations, each written once in its own module; this file only builds them and
 * wires them together. REST routes and the WebSocket handler are thin adapters that validate
 * input, call an operation here with an authenticated partner id, and serialise the result.
 *
 * State that everything shares is created first (who is in which conversation, the live
 * sessions, the long-poll wake-ups); each module then gets only the parts it uses.
 */
import type { Logger } from '../shared/log.ts';
import { Auth } from './auth.ts';
import type { Clock } from './clock.ts';
import { Conversations } from './conversations.ts';
import { Fanout } from './fanout.ts';
import { LongPoll } from './long-poll.ts';
import { Membership } from './membership.ts';
import { OfflineNotices } from './offline-notice.ts';
import { Presence } from './presence.ts';
import { SessionLifecycle } from './session-lifecycle.ts';
import { SessionRegistry } from './sessions.ts';
import type { Peers } from './cluster/peers.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { Store } from './store.ts';
import { Wakeups } from './wakeups.ts';
import { Writes } from './writes.ts';
import type { ServiceHooks } from './hooks.ts';

export type { ServiceHooks } from './hooks.ts';

export class BrokerService {
  /** The live WebSocket session of each partner. */
  readonly sessions = new SessionRegistry();
  /** Who is in which conversation (in memory). */
  readonly membership: Membership;
  /** Parked REST long-polls. */
  readonly wakeups = new Wakeups();
  /** Hands committed messages to their recipients. */
  readonly fanout: Fanout;

  /** Registering and proving partner ids. */
  readonly auth: Auth;
  /** Who is online; the partner list and statuses. */
  readonly presence: Presence;
  /** The CLAUDE.md offline notice and its on/off setting. */
  readonly notices: OfflineNotices;
  /** Sending messages and moving read cursors. */
  readonly writes: Writes;
  /** REST long-poll reads. */
  readonly longPoll: LongPoll;
  /** Groups, leaving, the conversation list, history. */
  readonly conversations: Conversations;
  /** Opening, ending and unregistering WebSocket sessions. */
  readonly lifecycle: SessionLifecycle;

  constructor(
    private readonly store: Store,
    clock: Clock,
    log: Logger,
    /** The other brokers of the database (none on SQLite). */
    peers: Peers,
    /** Commit and delivery timings. */
    metrics: Pick<BrokerMetrics, 'commitTimer' | 'committed' | 'pushed'>,
    hooks: ServiceHooks = {},
  ) {
    const { sessions, wakeups } = this;
    const membership = (this.membership = new Membership(peers.enabled ? store : undefined));
    this.auth = new Auth(store, clock);
    this.presence = new Presence(store, clock, sessions, membership, peers, hooks);
    this.notices = new OfflineNotices(store, this.presence, log);
    const fanout = (this.fanout = new Fanout(
      membership,
      sessions,
      wakeups,
      this.presence,
      this.notices,
      metrics,
      hooks,
    ));
    this.writes = new Writes(store, clock, membership, fanout, this.notices, peers, metrics, hooks);
    this.longPoll = new LongPoll(store, membership, wakeups, this.presence, this.writes);
    this.conversations = new Conversations(store, clock, membership, this.notices, peers, hooks);
    this.lifecycle = new SessionLifecycle(
      store,
      clock,
      sessions,
      this.presence,
      this.notices,
      this.writes,
      peers,
      metrics,
      log,
    );
  }

  /** Loads who is in which conversation; call once before serving. */
  async start(): Promise<void> {
    this.membership.load(await this.store.allMemberships());
  }

  /** Ends every session (the broker is going away) and records what each was pushed, while the database is open. */
  closeSessions(): Promise<void> {
    return this.lifecycle.closeAll();
  }

  /** Stops timers. */
  stop(): void {
    this.notices.stop();
  }
}
