/**
 * Opening and ending WebSocket sessions. A valid hello opens a session that replaces any older
 * one of the same partner; when a session ends, the highest id it pushed is recorded, so that a
 * later replay flags what was pushed before as redelivered.
 */
import type { Logger } from '../shared/log.ts';
import { CloseCode } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
import type { OfflineNotices } from './offline-notice.ts';
import type { Presence } from './presence.ts';
import type { PartnerRow } from './schema.ts';
import { Session, type SessionRegistry, type SessionSocket } from './sessions.ts';
import type { Store } from './store.ts';

export class SessionLifecycle {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sessions: SessionRegistry,
    private readonly presence: Pick<Presence, 'sessionOpened' | 'sessionEnded'>,
    private readonly notices: Pick<OfflineNotices, 'schedule'>,
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
      (error) => this.log.error({ err: error, partnerId: partner.id }, 'replay failed'),
    );
    const previous = this.sessions.attach(session);
    if (previous) session.inherit(previous);
    this.presence.sessionOpened(partner, previous !== undefined);
    return session;
  }

  /**
   * Forgets a closed session and records what it pushed. Resolves once that is written (never
   * rejects).
   */
  detach(session: Session): Promise<void> {
    // The socket is gone: a replay still running must stop sending into it.
    session.ended();
    if (!this.sessions.detach(session)) return Promise.resolve();
    const recorded = this.store
      .updatePartner(session.partnerId, { pushed_up_to: session.pushedUpTo, last_seen: isoNow(this.clock) })
      .catch((error: unknown) => {
        this.log.warn({ err: error, partnerId: session.partnerId }, 'could not record session end');
      });
    this.presence.sessionEnded(session.partnerId);
    this.notices.schedule(session.partnerId);
    return recorded;
  }

  /** The partner goes offline: its session is closed with a code that tells it not to reconnect. */
  async unregister(partnerId: string): Promise<void> {
    await this.store.updatePartner(partnerId, { last_seen: isoNow(this.clock) });
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
