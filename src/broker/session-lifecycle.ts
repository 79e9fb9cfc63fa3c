/**
 * Opening and ending WebSocket sessions. A valid hello opens a session that replaces any older
 * one of the same partner. What a session pushes is recorded as it goes (through the writes), so
 * that a later replay, even after a crash, flags what was pushed before as redelivered.
 */
import type { Logger } from '../shared/log.ts';
import { CloseCode } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
import type { Peers } from './cluster/peers.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { OfflineNotices } from './offline-notice.ts';
import type { Presence } from './presence.ts';
import type { PartnerRow } from './schema.ts';
import { Session, type SessionRegistry, type SessionSocket } from './sessions.ts';
import type { Store } from './store.ts';
import type { Writes } from './writes.ts';

export class SessionLifecycle {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sessions: SessionRegistry,
    private readonly presence: Pick<Presence, 'sessionOpened' | 'sessionEnded'>,
    private readonly notices: Pick<OfflineNotices, 'schedule'>,
    private readonly writes: Pick<Writes, 'recordPushed'>,
    private readonly peers: Pick<Peers, 'publish'>,
    private readonly metrics: Pick<BrokerMetrics, 'pushed'>,
    private readonly log: Logger,
  ) {}

  /** Opens a session after a valid hello: replaces any older one; the caller starts the replay. */
  open(partner: PartnerRow, socket: SessionSocket, since: number): Session {
    const session = new Session(
      partner.id,
      socket,
      since,
      partner.pushed_up_to,
      (partnerId, afterId, limit) => this.store.unreadFor(partnerId, { afterId, limit }),
      (partnerId, upTo) => this.writes.recordPushed(partnerId, upTo),
      (error) => this.log.error({ err: error, partnerId: partner.id }, 'replay failed'),
      (messageId) => this.metrics.pushed(messageId),
    );
    const previous = this.sessions.attach(session);
    if (previous) session.inherit(previous);
    // A session of the same partner on another broker ends too.
    this.peers.publish({ t: 'open', p: partner.id, s: session.id });
    this.presence.sessionOpened(partner, previous !== undefined);
    return session;
  }

  /**
   * Forgets a closed session and records when the partner was last seen (and any push whose own
   * record had failed). Resolves once that is written (never rejects).
   */
  detach(session: Session): Promise<void> {
    // The socket is gone: a replay still running must stop sending into it.
    session.ended();
    if (!this.sessions.detach(session)) return Promise.resolve();
    const unrecorded = session.pushedUpTo > session.recordedUpTo;
    const recorded = Promise.all([
      this.store.updatePartner(session.partnerId, { last_seen: isoNow(this.clock) }),
      unrecorded ? this.writes.recordPushed(session.partnerId, session.pushedUpTo) : undefined,
    ])
      .then(() => undefined)
      .catch((error: unknown) => {
        this.log.warn({ err: error, partnerId: session.partnerId }, 'could not record session end');
      });
    this.presence.sessionEnded(session.partnerId);
    this.notices.schedule(session.partnerId);
    return recorded;
  }

  /** The partner goes offline: its session, here or on another broker, is closed with a code that tells it not to reconnect. */
  async unregister(partnerId: string): Promise<void> {
    await this.store.updatePartner(partnerId, { last_seen: isoNow(this.clock) });
    this.peers.publish({ t: 'unreg', p: partnerId });
    this.endHere(partnerId);
  }

  /** Closes the partner's session on this broker, if any, as unregistered. */
  endHere(partnerId: string): void {
    const session = this.sessions.get(partnerId);
    if (session) {
      session.close(CloseCode.unregistered, 'unregistered');
      void this.detach(session);
    }
  }

  /** Ends every session (broker shutting down) and records what each was pushed. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.sessions.all()].map((session) => {
        session.close(CloseCode.goingAway, 'broker shutting down');
        return this.detach(session);
      }),
    );
  }
}
