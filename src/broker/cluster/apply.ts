/**
 * Applies what the other brokers of the database say to this broker's in-memory state. The
 * database stays the truth: a message event only says which ids to read and push, a membership
 * event only says which conversation to read again, and after a lost connection everything is
 * read again.
 */
import { CloseCode } from '../../shared/protocol.ts';
import type { Logger } from '../../shared/log.ts';
import type { HumanSeat } from '../console/index.ts';
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
  log: Logger;
}

export class ClusterApplier implements LinkHandlers {
  /** Partners whose current session here was announced to the others (its own `open` came back). */
  private readonly announced = new WeakSet<object>();

  constructor(private readonly deps: ApplyDeps) {}

  async event(event: ClusterEvent): Promise<void> {
    const { service, peers, seat } = this.deps;
    if (event.b === peers.id) {
      // Our own `open` came back: every `open` heard from now on is newer than this session.
      if (event.t === 'open') {
        const session = service.sessions.get(event.p);
        if (session) this.announced.add(session);
      }
      return;
    }
    switch (event.t) {
      case 'msg':
        for (const message of await this.deps.store.messagesByIds(event.ids)) {
          seat.elsewhere.committed(message);
          service.fanout.publish(message, true);
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
      case 'pres':
        service.presence.changedElsewhere(event.b, event.p, event.on, event.s);
        return;
      case 'hold':
        seat.elsewhere.held(event.hold);
        return;
      case 'free':
        seat.elsewhere.released(event.c, event.by);
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

  async brokerGone(brokerId: string): Promise<void> {
    await this.deps.service.presence.goneElsewhere(this.deps.peers.remote.dropBroker(brokerId));
  }

  /** Reads memberships again, and has every session and long-poll look at the store again. */
  async reconnected(): Promise<void> {
    const { service, store } = this.deps;
    service.membership.reset(await store.allMemberships());
    for (const session of service.sessions.all()) void session.replay();
    service.wakeups.wakeAll();
  }

  /** Tells a broker that just started (or reconnected) which partners are online here. */
  private sayWhoIsHere(): void {
    const here = [...this.deps.service.sessions.all()].map((session) => session.partnerId);
    for (const ps of chunked(here, (id) => id.length + 3)) this.deps.peers.publish({ t: 'here', ps });
  }
}
