/**
 * The loop guard: agents that keep answering each other burn tokens until someone notices.
 *
 * What is counted: turns between the same set of agents (the agent members of a conversation,
 * humans left out), across every conversation they share, within a sliding time window. A turn
 * is an agent message whose sender is not the sender of the previous agent message among those
 * agents (the first one counts too): several messages in a row by one agent are one turn, so one
 * agent reporting progress is never held, and a new group or direct conversation with the same
 * agents shares the budget of the old ones.
 *
 * The message that would go over the budget is refused and its conversation held. While any
 * conversation of a set is held, every agent message into a conversation of the same set is
 * refused, and that conversation is held too (so the console shows it and a resume lifts it).
 * A human's message in any conversation of the set, or a resume of one of them, resets the
 * budget and lifts every hold of the set. The windows live in memory (a restart starts them
 * afresh); holds are reported to `events`, which keeps them across restarts.
 */
import type { Hold } from '../shared/console-protocol.ts';
import { DuoError } from '../shared/errors.ts';
import { directMembers } from '../shared/ids.ts';
import { describeLoopPolicy, type LoopPolicy } from '../shared/loop-policy.ts';

export interface HoldEvents {
  held(hold: Hold): void;
  released(conversationId: string, by: 'resume' | 'human_message'): void;
}

/** Who is in a conversation, and who is a human: the guard keys its budgets by the agents. */
export interface Participants {
  members(conversationId: string): Iterable<string>;
  isHuman(partnerId: string): boolean;
}

/** The turns of one set of agents still inside the window, and who wrote last. */
interface Turns {
  at: number[];
  lastSender: string;
}

/** How often (in admitted messages) windows that went quiet are forgotten. */
const SWEEP_EVERY = 1024;

export class LoopGuard {
  /** Per set of agents (see agentsOf), its recent turns (at most `limit`). */
  private readonly turns = new Map<string, Turns>();
  private readonly holds = new Map<string, Hold>();
  private admitted = 0;
  private participants: Participants = { members: () => [], isHuman: () => false };

  constructor(
    readonly policy: LoopPolicy | null,
    private readonly now: () => Date,
    private readonly events: HoldEvents,
  ) {}

  /** Where the guard learns conversations' members (set once the broker's service exists). */
  useParticipants(participants: Participants): void {
    this.participants = participants;
  }

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
    const agents = this.agentsOf(conversationId);
    if (human) {
      this.release(agents, 'human_message');
      return;
    }
    const hold = this.holds.get(conversationId) ?? this.holdOfSameAgents(conversationId, agents);
    if (hold) throw heldError(hold);

    const at = this.now().getTime();
    if (++this.admitted % SWEEP_EVERY === 0) this.sweep(at);
    const turns = this.window(agents, at);
    if (turns.lastSender !== senderId && turns.at.length >= this.policy.limit) {
      this.turns.delete(agents);
      throw heldError(this.hold(conversationId));
    }
    this.count(agents, turns, senderId, at);
  }

  /**
   * A message another broker of the database admitted: it counts toward the budget here too (a
   * loop between agents on two brokers is still a loop). The broker that admits the message over
   * budget holds the conversation and tells the others.
   */
  observe(conversationId: string, senderId: string, human: boolean): void {
    if (!this.policy) return;
    const agents = this.agentsOf(conversationId);
    // A human's message resets the budget; the broker that took it releases any hold and says so.
    if (human) {
      this.turns.delete(agents);
      return;
    }
    const at = this.now().getTime();
    this.count(agents, this.window(agents, at), senderId, at);
  }

  /**
   * The key of the conversation's set of agents: their ids, sorted. A conversation with fewer
   * than two agents has a budget of its own (nobody to loop with).
   */
  private agentsOf(conversationId: string): string {
    const members = directMembers(conversationId) ?? this.participants.members(conversationId);
    const agents = [...members].filter((id) => !this.participants.isHuman(id)).sort();
    return agents.length >= 2 ? agents.join(' ') : `only ${conversationId}`;
  }

  /** A hold on another conversation of the same agents, which then holds this one too. */
  private holdOfSameAgents(conversationId: string, agents: string): Hold | undefined {
    for (const held of this.holds.keys()) {
      if (this.agentsOf(held) === agents) return this.hold(conversationId);
    }
    return undefined;
  }

  private hold(conversationId: string): Hold {
    const held: Hold = {
      conversationId,
      heldAt: this.now().toISOString(),
      messages: this.policy!.limit,
      windowSeconds: Math.round(this.policy!.windowMs / 1000),
    };
    this.holds.set(conversationId, held);
    this.events.held(held);
    return held;
  }

  /** The set's turns still inside the window at `at`. */
  private window(agents: string, at: number): Turns {
    const turns = this.turns.get(agents);
    return { at: (turns?.at ?? []).filter((t) => t > at - this.policy!.windowMs), lastSender: turns?.lastSender ?? '' };
  }

  /** Records one message: a new turn when its sender did not write the previous one. */
  private count(agents: string, turns: Turns, senderId: string, at: number): void {
    if (turns.lastSender !== senderId) turns.at.push(at);
    this.turns.set(agents, { at: turns.at.slice(-this.policy!.limit), lastSender: senderId });
  }

  /** Another broker held a conversation (and stored the hold). */
  adoptHold(hold: Hold): void {
    if (!this.policy) return;
    this.turns.delete(this.agentsOf(hold.conversationId));
    this.holds.set(hold.conversationId, hold);
  }

  /** Another broker released a hold; true when it was held here. */
  adoptRelease(conversationId: string): boolean {
    this.turns.delete(this.agentsOf(conversationId));
    return this.holds.delete(conversationId);
  }

  /** Lifts the holds of the conversation's agents and resets their budget; false when the conversation was not held. */
  resume(conversationId: string): boolean {
    if (!this.holds.has(conversationId)) {
      this.turns.delete(this.agentsOf(conversationId));
      return false;
    }
    this.release(this.agentsOf(conversationId), 'resume');
    return true;
  }

  /** Resets the budget of a set of agents and lifts every hold on their conversations. */
  private release(agents: string, by: 'resume' | 'human_message'): void {
    this.turns.delete(agents);
    for (const held of [...this.holds.keys()]) {
      if (this.agentsOf(held) !== agents) continue;
      this.holds.delete(held);
      this.events.released(held, by);
    }
  }

  private sweep(at: number): void {
    const windowMs = this.policy?.windowMs ?? 0;
    for (const [agents, turns] of this.turns) {
      if ((turns.at.at(-1) ?? 0) <= at - windowMs) this.turns.delete(agents);
    }
  }
}

export function heldError(hold: Hold): DuoError {
  const budget = describeLoopPolicy({ limit: hold.messages, windowMs: hold.windowSeconds * 1000 });
  return new DuoError(
    'conversation_held',
    `The conversation "${hold.conversationId}" is on hold: its agents sent ${budget} with no message from a human, which looks like agents answering each other in a loop (turns are counted across every conversation between the same agents). Your message was not sent. The conversation resumes when the user writes in it or resumes it (in the web console, or with \`duo resume ${hold.conversationId}\`); until then do not send to it again, and tell the user in your own session if you need them.`,
  );
}
