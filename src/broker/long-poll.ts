/**
 * REST long-poll reads. A listen answers at once when something is unread, else waits until a
 * message for the partner commits or its timeout passes. What it hands out is claimed in the
 * same tick as the read, so two listens never get the same message, and counts as read only
 * once the response carrying it was written: a response that never arrives loses nothing.
 */
import { DuoError } from '../shared/errors.ts';
import { MAX_LONG_POLLS_PER_PARTNER } from '../shared/limits.ts';
import type { Message } from '../shared/protocol.ts';
import { Claims } from './claims.ts';
import type { Membership } from './membership.ts';
import { PollSlots } from './poll-slots.ts';
import type { Presence } from './presence.ts';
import type { Store } from './store.ts';
import type { Wakeups } from './wakeups.ts';
import type { Writes } from './writes.ts';

/** Messages handed to one REST response: commit once written, release if it was not. */
export interface Claim {
  commit(): Promise<void>;
  release(): void;
}

export interface ListenOptions {
  conversationId?: string | undefined;
  timeoutMs: number;
  limit: number;
  /** Read without consuming, and without counting as presence. */
  peek?: boolean;
  /**
   * Peeking only: leave out messages with an id up to this one. A consuming read never skips: its
   * claim marks read up to the highest id it hands out, which would take what it skipped along.
   */
  above?: number | undefined;
  signal?: AbortSignal;
}

export class LongPoll {
  private readonly claims = new Claims();
  private readonly slots = new PollSlots(MAX_LONG_POLLS_PER_PARTNER);
  /** REST listens in progress, of every partner. */
  private waiting = 0;

  constructor(
    private readonly store: Store,
    private readonly membership: Membership,
    private readonly wakeups: Wakeups,
    private readonly presence: Pick<Presence, 'holdOnline'>,
    private readonly writes: Pick<Writes, 'ack'>,
  ) {}

  /**
   * Unread messages for `partnerId`, waiting up to `timeoutMs` for the first. Unless peeking,
   * they come with a claim that the caller commits once they were delivered.
   */
  async waitForUnread(partnerId: string, options: ListenOptions): Promise<{ messages: Message[]; claim?: Claim }> {
    if (options.conversationId !== undefined) await this.membership.require(options.conversationId, partnerId);
    const deadline = Date.now() + options.timeoutMs;
    // Ends early when the request goes away, or when a newer listen of this partner needs the slot.
    const slot = this.slots.take(partnerId);
    const ended = eitherSignal(slot.signal, options.signal);
    const release = options.peek ? undefined : this.presence.holdOnline(partnerId);
    this.waiting++;
    try {
      for (;;) {
        // Arm the wake-up before reading, so a message committed in between is not missed.
        const woken = this.wakeups.arm(partnerId, Math.max(0, deadline - Date.now()), ended.signal);
        const unread = await this.store.unreadFor(partnerId, {
          afterId: options.peek ? (options.above ?? 0) : 0,
          limit: options.limit,
          conversationId: options.conversationId,
        });
        const messages = this.claims.unclaimed(partnerId, unread);
        if (messages.length > 0 || Date.now() >= deadline || ended.signal.aborted) {
          woken.cancel();
          if (options.peek || messages.length === 0) return { messages };
          return { messages, claim: this.claim(partnerId, messages) };
        }
        await woken.promise;
        if (ended.signal.aborted) return { messages: [] };
      }
    } finally {
      this.waiting--;
      release?.();
      ended.dispose();
      slot.release();
    }
  }

  /**
   * Marks read what an earlier response returned (the ids its cursor names): per conversation
   * the partner still belongs to, up to the highest id. Ids of other conversations, unknown ids
   * and ids already read change nothing, so a repeated or stale cursor is harmless.
   */
  async acknowledge(partnerId: string, ids: readonly number[]): Promise<void> {
    const upTo = new Map<string, number>();
    for (const row of await this.store.messageConversations(ids)) {
      if (!this.membership.isMember(row.conversation_id, partnerId)) continue;
      upTo.set(row.conversation_id, Math.max(upTo.get(row.conversation_id) ?? 0, row.id));
    }
    await Promise.all(
      [...upTo].map(([conversationId, id]) =>
        this.writes.ack(partnerId, conversationId, id).catch((error: unknown) => {
          // Left the conversation meanwhile: nothing of it is ours to mark.
          if (!(error instanceof DuoError && error.code === 'not_member')) throw error;
        }),
      ),
    );
  }

  /** REST listens open right now, of every partner. */
  get open(): number {
    return this.waiting;
  }

  /** REST listens open for `partnerId` right now. */
  openListens(partnerId: string): number {
    return this.slots.count(partnerId);
  }

  /**
   * Claims `messages` for one response: until the claim is committed (the response was written:
   * cursors move) or released (it was not: they stay unread), no other listen hands them out.
   */
  private claim(partnerId: string, messages: Message[]): Claim {
    const { highest, release } = this.claims.take(partnerId, messages);
    // Other listens of this partner may be waiting for the claimed conversations to free up.
    const end = () => {
      release();
      this.wakeups.wake(partnerId);
    };
    return {
      commit: async () => {
        try {
          await Promise.all(
            [...highest].map(([conversationId, upTo]) => this.writes.ack(partnerId, conversationId, upTo)),
          );
        } finally {
          end();
        }
      },
      release: end,
    };
  }
}

/** A signal that aborts when either of two does; `dispose` stops listening to them. */
function eitherSignal(a: AbortSignal, b: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const both = new AbortController();
  const abort = () => both.abort();
  if (a.aborted || b?.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b?.addEventListener('abort', abort, { once: true });
  return {
    signal: both.signal,
    dispose() {
      a.removeEventListener('abort', abort);
      b?.removeEventListener('abort', abort);
    },
  };
}
