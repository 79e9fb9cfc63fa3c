/**
 * When to rewrite a partner's CLAUDE.md offline notice (notice.ts writes the block). Every change
 * to its unread counts or its presence schedules one refresh; changes within a short window share
 * it, so a burst of messages rewrites the file once.
 */
import type { Logger } from '../shared/log.ts';
import { NOTICE_DELAY_MS } from '../shared/limits.ts';
import { updateNotice } from './notice.ts';
import type { PartnerSettings, Presence } from './presence.ts';
import type { Store } from './store.ts';

export class OfflineNotices {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    private readonly presence: Pick<Presence, 'isOnline'>,
    private readonly log: Logger,
  ) {}

  /** Refreshes the partner's notice after `delayMs`, unless a refresh is already due. */
  schedule(partnerId: string, delayMs = NOTICE_DELAY_MS): void {
    if (this.timers.has(partnerId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(partnerId);
      this.refresh(partnerId).catch((error: unknown) =>
        this.log.warn({ err: error, partnerId }, 'could not update the CLAUDE.md notice'),
      );
    }, delayMs);
    timer.unref();
    this.timers.set(partnerId, timer);
  }

  /**
   * The notice appears when messages arrive while the partner is offline with notifications on,
   * keeps its counts current, and goes away once they are read (or notifications are turned off).
   * Coming online alone does not remove it: the messages are still unread.
   */
  async refresh(partnerId: string): Promise<void> {
    const partner = await this.store.getPartner(partnerId);
    if (!partner?.project_path) return;
    const counts = partner.notifications === 1 ? await this.store.unreadCounts(partnerId) : [];
    const written = await updateNotice(partner.project_path, counts, { create: !this.presence.isOnline(partnerId) });
    if (!written)
      this.log.warn(
        { partnerId, path: partner.project_path },
        'skipped the CLAUDE.md notice: the path is not a project folder of this user (a .git, .mcp.json, .claude or CLAUDE.md inside), or CLAUDE.md is not a regular file',
      );
  }

  /** Turns the notice on or off for a partner; the file follows at once. */
  async setEnabled(partnerId: string, enabled: boolean): Promise<PartnerSettings> {
    await this.store.updatePartner(partnerId, { notifications: enabled ? 1 : 0 });
    const partner = (await this.store.getPartner(partnerId))!;
    this.schedule(partnerId, 0);
    return { partnerId, status: partner.status, notifications: enabled };
  }

  /** Cancels every pending refresh. */
  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
