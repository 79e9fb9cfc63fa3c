/**
 * Who is online, and telling others when that changes. A partner is online while it has a live
 * WebSocket session or a REST long-poll that will consume (a peek only reads, so it does not
 * count); a human is online while a console of theirs has its watch stream open. Everyone who
 * shares a conversation with a partner gets a presence frame when it comes or goes, or changes its
 * status. With other brokers on the same database, a partner is also online while one of them says
 * so; each broker tells its own contacts' sessions.
 */
import type { PartnerSummary } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
import type { Peers } from './cluster/peers.ts';
import type { ServiceHooks } from './hooks.ts';
import type { Membership } from './membership.ts';
import type { PartnerRow } from './schema.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Store } from './store.ts';

export interface PartnerSettings {
  partnerId: string;
  status: string | null;
  notifications: boolean;
}

export class Presence {
  /** Per partner, what keeps it online besides a session: long-polls, console watch streams. */
  private readonly keptOnline = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sessions: SessionRegistry,
    private readonly membership: Membership,
    private readonly peers: Pick<Peers, 'publish' | 'remote'>,
    private readonly hooks: Pick<ServiceHooks, 'presence'> = {},
  ) {}

  isOnline(partnerId: string): boolean {
    return this.isOnlineHere(partnerId) || this.peers.remote.has(partnerId);
  }

  private isOnlineHere(partnerId: string): boolean {
    return this.sessions.has(partnerId) || this.keptOnline.has(partnerId);
  }

  /**
   * Counts a REST long-poll (or a human's open console) as presence until the returned function
   * is called.
   */
  holdOnline(partnerId: string): () => void {
    const count = (this.keptOnline.get(partnerId) ?? 0) + 1;
    this.keptOnline.set(partnerId, count);
    if (count === 1 && !this.sessions.has(partnerId)) void this.announce(partnerId, true);
    return () => {
      const left = (this.keptOnline.get(partnerId) ?? 1) - 1;
      if (left > 0) {
        this.keptOnline.set(partnerId, left);
        return;
      }
      this.keptOnline.delete(partnerId);
      if (this.sessions.has(partnerId)) return;
      void this.announce(partnerId, false);
      this.store.updatePartner(partnerId, { last_seen: isoNow(this.clock) }).catch(() => {});
    };
  }

  /** A session opened; unless it replaced another one or something else already kept it online, say so. */
  sessionOpened(partner: PartnerRow, replacedAnother: boolean): void {
    if (replacedAnother || this.keptOnline.has(partner.id)) return;
    this.broadcast(partner.id, true, partner.status);
  }

  /** The partner's session ended; unless a long-poll or console keeps it online, say so. */
  sessionEnded(partnerId: string): void {
    if (!this.keptOnline.has(partnerId)) void this.announce(partnerId, false);
  }

  /**
   * Broker `brokerId` says a partner is online there or not (or changed its status). The sessions
   * here hear whether it is online anywhere: it is only reported gone when it is gone everywhere.
   */
  changedElsewhere(brokerId: string, partnerId: string, onlineThere: boolean, status: string | null): void {
    if (onlineThere) this.peers.remote.add(partnerId, brokerId);
    else this.peers.remote.remove(partnerId, brokerId);
    this.tell(partnerId, this.isOnline(partnerId), status);
  }

  /** Partners that were online only on a broker that went away. */
  async goneElsewhere(partnerIds: readonly string[]): Promise<void> {
    for (const partnerId of partnerIds) if (!this.isOnline(partnerId)) await this.announceHere(partnerId);
  }

  async listPartners(): Promise<PartnerSummary[]> {
    const rows = await this.store.listPartners();
    return rows.map((p) => ({
      id: p.id,
      name: p.name,
      online: this.isOnline(p.id),
      status: p.status,
      lastSeen: p.last_seen,
    }));
  }

  async setStatus(partnerId: string, status: string | null): Promise<PartnerSettings> {
    await this.store.updatePartner(partnerId, { status });
    const partner = (await this.store.getPartner(partnerId))!;
    this.broadcast(partnerId, this.isOnline(partnerId), status);
    return { partnerId, status: partner.status, notifications: partner.notifications === 1 };
  }

  private async announce(partnerId: string, online: boolean): Promise<void> {
    const partner = await this.store.getPartner(partnerId).catch(() => undefined);
    this.broadcast(partnerId, online, partner?.status ?? null);
  }

  private async announceHere(partnerId: string): Promise<void> {
    const partner = await this.store.getPartner(partnerId).catch(() => undefined);
    this.tell(partnerId, false, partner?.status ?? null);
  }

  /**
   * Tells everyone who shares a conversation with `partnerId`, here and on other brokers, that it
   * came, went or changed. The other brokers hear whether it is online on this one.
   */
  private broadcast(partnerId: string, online: boolean, status: string | null): void {
    this.peers.publish({ t: 'pres', p: partnerId, on: this.isOnlineHere(partnerId), s: status });
    // Gone from here, but still online on another broker: nothing changed for anyone.
    if (!online && this.peers.remote.has(partnerId)) return;
    this.tell(partnerId, online, status);
  }

  /** Tells the sessions on this broker that share a conversation with `partnerId`, and the watchers. */
  private tell(partnerId: string, online: boolean, status: string | null): void {
    this.hooks.presence?.(partnerId, online, status);
    for (const contact of this.membership.contactsOf(partnerId)) {
      this.sessions.get(contact)?.send({ type: 'presence', partnerId, online, status });
    }
  }
}
