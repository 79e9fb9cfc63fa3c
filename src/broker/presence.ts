/**
 * Who is online, and telling others when that changes. A partner is online while it has a live
 * WebSocket session or a REST long-poll that will consume (a peek only reads, so it does not
 * count). Everyone who shares a conversation with a partner gets a presence frame when it comes
 * or goes, or changes its status.
 */
import type { PartnerSummary } from '../shared/protocol.ts';
import { isoNow, type Clock } from './clock.ts';
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
  /** Long-polls in progress per partner. */
  private readonly longPolls = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly sessions: SessionRegistry,
    private readonly membership: Membership,
    private readonly hooks: Pick<ServiceHooks, 'presence'> = {},
  ) {}

  isOnline(partnerId: string): boolean {
    return this.sessions.has(partnerId) || this.longPolls.has(partnerId);
  }

  /** Counts a REST long-poll as presence until the returned function is called. */
  holdForLongPoll(partnerId: string): () => void {
    const count = (this.longPolls.get(partnerId) ?? 0) + 1;
    this.longPolls.set(partnerId, count);
    if (count === 1 && !this.sessions.has(partnerId)) void this.announce(partnerId, true);
    return () => {
      const left = (this.longPolls.get(partnerId) ?? 1) - 1;
      if (left > 0) {
        this.longPolls.set(partnerId, left);
        return;
      }
      this.longPolls.delete(partnerId);
      if (this.sessions.has(partnerId)) return;
      void this.announce(partnerId, false);
      this.store.updatePartner(partnerId, { last_seen: isoNow(this.clock) }).catch(() => {});
    };
  }

  /** A session opened; unless it replaced another one or a long-poll already counted, say so. */
  sessionOpened(partner: PartnerRow, replacedAnother: boolean): void {
    if (replacedAnother || this.longPolls.has(partner.id)) return;
    this.broadcast(partner.id, true, partner.status);
  }

  /** The partner's session ended; unless a long-poll keeps it online, say so. */
  sessionEnded(partnerId: string): void {
    if (!this.longPolls.has(partnerId)) void this.announce(partnerId, false);
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

  /** Tells everyone who shares a conversation with `partnerId` that it came, went or changed. */
  private broadcast(partnerId: string, online: boolean, status: string | null): void {
    this.hooks.presence?.(partnerId, online, status);
    for (const contact of this.membership.contactsOf(partnerId)) {
      this.sessions.get(contact)?.send({ type: 'presence', partnerId, online, status });
    }
  }
}
