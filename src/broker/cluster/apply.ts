/**
 * Applies what the other brokers of the database say to this broker's in-memory state. The
 * database stays the truth: a message event only says which ids to read and push, a membership
 * event only says which conversation to read again. After a lost connection, memberships, holds
 * and messages are read again, and who is online elsewhere is asked again.
 */
import { CloseCode } from '../../shared/protocol.ts';
import type { Logger } from '../../shared/log.ts';
import type { HumanSeat } from '../console/index.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { BrokerService } from '../service.ts';
import type { Store } from '../store.ts';
import { chunked, type ClusterEvent } from './events.ts';
import type { LinkHandlers } from './link.ts';
import type { Peers } from './peers.ts';

export interface ApplyDeps {
  store: Store;
  service: BrokerService;
  peers: Peers;
  seat: Pick<HumanSeat, 'elsewhere'>;
  limiters: Record<'requests' | 'auth', RateLimiter>;
  metrics: Pick<BrokerMetrics, 'heardFromPeer' | 'watchTeam'>;
  log: Logger;
}

export class ClusterApplier implements LinkHandlers {
  /** Sessions here whose own `open` came back: every `open` heard after it is newer. */
  private readonly announced = new WeakSet<object>();

  constructor(private readonly deps: ApplyDeps) {}

  async event(event: ClusterEvent): Promise<void> {
    const { service, peers, seat } = this.deps;
    if (event.b === peers.id) {
      // Our own `open` came back: every `open` heard from now on is newer than that session. It
      // may be for a session already replaced here, whose successor's `open` is still on its way.
      if (event.t === 'open') {
        const session = service.sessions.get(event.p);
        if (session?.id === event.s) this.announced.add(session);
      }
      return;
    }
    this.deps.metrics.heardFromPeer(peers.now() - event.at);
    switch (event.t) {
      case 'msg':
        try {
          await this.messages(event.ids);
        } catch (error) {
          // Some of them may not have been handed over: read everything again instead.
          this.deps.log.warn({ err: error }, 'could not read messages another broker stored; catching up');
          await this.reconnected();
        }
        return;
      case 'mem':
        await service.membership.reload(event.c);
        return;
      case 'open': {
        peers.remote.add(event.p, event.b);
        // Only a session announced before this `open` is older; a newer one here wins, and the
        // other broker ends its own when our `open` reaches it.
        const session = service.sessions.get(event.p);
        if (session && this.announced.has(session))
          session.close(CloseCode.replaced, 'another session of this partner took over (on another broker)');
        return;
      }
      case 'read':
        service.fanout.read(event.p, event.c, event.u);
        return;
      case 'unreg':
        service.lifecycle.endHere(event.p);
        return;
      case 'pres':
        service.presence.changedElsewhere(event.b, event.p, event.on, event.s);
        return;
      case 'hold':
        seat.elsewhere.held(event.hold);
        return;
      case 'free':
        seat.elsewhere.released(event.c, event.by);
        return;
      case 'out':
        seat.elsewhere.loggedOut(event.s);
        return;
      case 'rate':
        for (const [key, count] of Object.entries(event.k)) this.deps.limiters[event.l].debit(key, count);
        return;
      case 'beat':
        if (event.up) this.sayWhoIsHere();
        return;
      case 'here':
        for (const partnerId of event.ps) peers.remote.add(partnerId, event.b);
        return;
      case 'bye':
        return this.brokerGone(event.b);
    }
  }

  /** Hands over messages another broker stored, read from the database (which alone says they exist). */
  private async messages(ids: readonly number[]): Promise<void> {
    const { service, peers, seat } = this.deps;
    const messages = await this.deps.store.messagesByIds(ids);
    for (const message of messages) {
      try {
        await seat.elsewhere.committed(message);
      } catch (error) {
        // The loop guard could not tell a human from an agent: delivery goes on regardless.
        this.deps.log.warn({ err: error }, 'the loop guard could not count a message of another broker');
      }
      service.fanout.publish(message, true);
    }
    const newest = messages.at(-1);
    if (newest) peers.handed(newest.id);
  }

  async brokerGone(brokerId: string): Promise<void> {
    await this.deps.service.presence.goneElsewhere(this.deps.peers.remote.dropBroker(brokerId));
  }

  /**
   * Reads memberships and holds again, has every session, long-poll and watcher look at the store
   * again, and forgets who is online elsewhere (the link's `beat up` asks again).
   */
  async reconnected(): Promise<void> {
    const { service, store, peers, seat } = this.deps;
    service.membership.reset(await store.allMemberships());
    // What was announced meanwhile is in the store; the replays below read it.
    peers.handed(await store.maxMessageId());
    for (const session of service.sessions.all()) void session.replay();
    service.wakeups.wakeAll();
    peers.remote.clear();
    await seat.elsewhere.resync();
  }

  /** Tells a broker that just started (or reconnected) which partners are online here. */
  private sayWhoIsHere(): void {
    const here = [...this.deps.service.sessions.all()].map((session) => session.partnerId);
    for (const ps of chunked(here, (id) => id.length + 3)) this.deps.peers.publish({ t: 'here', ps });
  }
}
