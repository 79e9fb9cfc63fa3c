/**
 * The loop guard: two agents that keep answering each other burn tokens until someone notices.
 * Per conversation it allows a budget of agent messages within a sliding time window; the
 * message that would go over it is refused and the conversation is held. While held, every
 * agent message into it is refused with an error that says why and how it resumes. A human's
 * message resets the budget (and lifts a hold); so does resuming it by hand.
 *
 * Only conversations where at least two agents wrote within the window are held: one agent
 * reporting progress into a group is not a loop. The windows live in memory (a restart starts
 * them afresh); holds are reported to `events`, which keeps them across restarts.
 */
import type { Hold } from '../shared/console-protocol.ts';
import { DuoError } from '../shared/errors.ts';
import { describeLoopPolicy, type LoopPolicy } from '../shared/loop-policy.ts';

export interface HoldEvents {
  held(hold: Hold): void;
  released(conversationId: string, by: 'resume' | 'human_message'): void;
}

interface Sent {
  at: number;
  sender: string;
}

/** How often (in admitted messages) windows that went quiet are forgotten. */
const SWEEP_EVERY = 1024;

export class LoopGuard {
  /** Per conversation, its most recent agent messages (at most `limit`), oldest first. */
  private readonly recent = new Map<string, Sent[]>();
  private readonly holds = new Map<string, Hold>();
  private admitted = 0;

  constructor(
    readonly policy: LoopPolicy | null,
    private readonly now: () => Date,
    private readonly events: HoldEvents,
  ) {}

  /** The holds in force (before a restart, or after news from other brokers was missed). Ignored while the guard is switched off. */
  load(holds: Iterable<Hold>): void {
    if (!this.policy) return;
    this.holds.clear();
    for (const hold of holds) this.holds.set(hold.conversationId, hold);
  }

  get(conversationId: string): Hold | undefined {
    return this.holds.get(conversationId);
  }

  all(): Hold[] {
    return [...this.holds.values()].sort((a, b) => a.heldAt.localeCompare(b.heldAt));
  }

  /**
   * Decides on one message before it is stored; throws the `conversation_held` error to refuse
   * it. A refused message that was counted is not taken back, so a failed commit can only make
   * the guard a little stricter, never let a loop through.
   */
  admit(conversationId: string, senderId: string, human: boolean): void {
    if (!this.policy) return;
    if (human) {
      this.recent.delete(conversationId);
      if (this.holds.delete(conversationId)) this.events.released(conversationId, 'human_message');
      return;
    }
    const hold = this.holds.get(conversationId);
    if (hold) throw heldError(hold);

    const at = this.now().getTime();
    if (++this.admitted % SWEEP_EVERY === 0) this.sweep(at);
    const { limit, windowMs } = this.policy;
    const sent = this.window(conversationId, at);
    if (sent.length >= limit && new Set([senderId, ...sent.map((s) => s.sender)]).size >= 2) {
      const held: Hold = {
        conversationId,
        heldAt: new Date(at).toISOString(),
        messages: limit,
        windowSeconds: Math.round(windowMs / 1000),
      };
      this.recent.delete(conversationId);
      this.holds.set(conversationId, held);
      this.events.held(held);
      throw heldError(held);
    }
    this.remember(conversationId, sent, { at, sender: senderId });
  }

  /**
   * A message another broker of the database admitted: it counts toward the budget here too (a
   * loop between agents on two brokers is still a loop). The broker that admits the message over
   * budget holds the conversation and tells the others.
   */
  observe(conversationId: string, senderId: string, human: boolean): void {
    if (!this.policy) return;
    // A human's message resets the budget; the broker that took it releases any hold and says so.
    if (human) {
      this.recent.delete(conversationId);
      return;
    }
    const at = this.now().getTime();
    this.remember(conversationId, this.window(conversationId, at), { at, sender: senderId });
  }

  /** The conversation's agent messages still inside the window at `at`, oldest first. */
  private window(conversationId: string, at: number): Sent[] {
    return (this.recent.get(conversationId) ?? []).filter((s) => s.at > at - this.policy!.windowMs);
  }

  /** Adds one message to the window, which keeps at most `limit` (the most that can matter). */
  private remember(conversationId: string, sent: Sent[], message: Sent): void {
    sent.push(message);
    this.recent.set(conversationId, sent.slice(-this.policy!.limit));
  }

  /** Another broker held a conversation (and stored the hold). */
  adoptHold(hold: Hold): void {
    if (!this.policy) return;
    this.recent.delete(hold.conversationId);
    this.holds.set(hold.conversationId, hold);
  }

  /** Another broker released a hold; true when it was held here. */
  adoptRelease(conversationId: string): boolean {
    this.recent.delete(conversationId);
    return this.holds.delete(conversationId);
  }

  /** Lifts a hold and resets the budget; false when the conversation was not held. */
  resume(conversationId: string): boolean {
    this.recent.delete(conversationId);
    if (!this.holds.delete(conversationId)) return false;
    this.events.released(conversationId, 'resume');
    return true;
  }

  private sweep(at: number): void {
    const windowMs = this.policy?.windowMs ?? 0;
    for (const [conversationId, sent] of this.recent) {
      if (sent.at(-1)!.at <= at - windowMs) this.recent.delete(conversationId);
    }
  }
}

export function heldError(hold: Hold): DuoError {
  const budget = describeLoopPolicy({ limit: hold.messages, windowMs: hold.windowSeconds * 1000 });
  return new DuoError(
    'conversation_held',
    `The conversation "${hold.conversationId}" is on hold: its agents sent ${budget} with no message from a human, which looks like agents answering each other in a loop. Your message was not sent. The conversation resumes when the user writes in it or resumes it (in the web console, or with \`duo resume ${hold.conversationId}\`); until then do not send to it again, and tell the user in your own session if you need them.`,
  );
}
