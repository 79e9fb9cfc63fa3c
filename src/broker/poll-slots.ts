/**
 * A cap on concurrent REST long-polls per partner. A client that hangs, or a script that keeps
 * opening listens, could otherwise park requests for up to the longest listen timeout each.
 * Past the cap the newest listen ends the oldest: that one returns at once with what it has
 * (usually nothing, as at a timeout), so a partner is never locked out by its own stale requests.
 */
export interface PollSlot {
  /** Aborts when a newer listen of the same partner takes this slot. */
  readonly signal: AbortSignal;
  release(): void;
}

export class PollSlots {
  /** Each partner's open slots, oldest first (a Set keeps insertion order). */
  private readonly byPartner = new Map<string, Set<AbortController>>();

  constructor(private readonly max: number) {}

  take(partnerId: string): PollSlot {
    let open = this.byPartner.get(partnerId);
    if (!open) this.byPartner.set(partnerId, (open = new Set()));
    for (const oldest of open) {
      if (open.size < this.max) break;
      open.delete(oldest);
      oldest.abort();
    }
    const slot = new AbortController();
    open.add(slot);
    return {
      signal: slot.signal,
      release: () => {
        open.delete(slot);
        if (open.size === 0 && this.byPartner.get(partnerId) === open) this.byPartner.delete(partnerId);
      },
    };
  }

  /** Listens open for `partnerId` right now. */
  count(partnerId: string): number {
    return this.byPartner.get(partnerId)?.size ?? 0;
  }
}
