/**
 * What `duo tail` shows of the watch stream: the conversations of one partner (the default), or
 * every conversation (`--all`). A view answers which conversations and partners belong in the
 * picture and fetches the backlog; it only ever reads.
 */
import { DuoError } from '../shared/errors.ts';
import { directMembers } from '../shared/ids.ts';
import type { ConversationSummary, Message } from '../shared/protocol.ts';
import type { BrokerClient } from '../client/rest.ts';

export interface TailView {
  /** The partner watched as, or undefined for every conversation. */
  readonly me: string | undefined;
  readonly known: ReadonlyMap<string, ConversationSummary>;
  shows(conversationId: string): Promise<boolean>;
  isContact(partnerId: string): boolean;
  /** The newest `lines` messages with ids up to `upTo`, oldest first. */
  backlog(lines: number, upTo: number): Promise<Message[]>;
}

/** How long a conversation found not to be the partner's is believed so before asking again. */
const RECHECK_MS = 5_000;

export class PartnerView implements TailView {
  readonly known = new Map<string, ConversationSummary>();
  private readonly notMine = new Map<string, number>();

  constructor(
    private readonly client: BrokerClient,
    readonly me: string,
    private readonly only: string | undefined,
  ) {}

  async shows(conversationId: string): Promise<boolean> {
    if (this.only !== undefined && conversationId !== this.only) return false;
    if (this.known.has(conversationId)) return true;
    // A new group, or a first direct message: ask once whether it is one of ours.
    if (Date.now() - (this.notMine.get(conversationId) ?? 0) < RECHECK_MS) return false;
    await this.refresh();
    if (this.known.has(conversationId)) return true;
    this.notMine.set(conversationId, Date.now());
    return false;
  }

  isContact(partnerId: string): boolean {
    if (partnerId === this.me) return false;
    if (this.only !== undefined) {
      const members = this.known.get(this.only)?.members ?? directMembers(this.only) ?? [];
      return members.includes(partnerId);
    }
    for (const conversation of this.known.values()) if (conversation.members.includes(partnerId)) return true;
    return false;
  }

  async backlog(lines: number, upTo: number): Promise<Message[]> {
    const conversations = await this.refresh();
    if (this.only !== undefined && !conversations.some((c) => c.id === this.only)) {
      // A direct conversation of mine that has no message yet exists as soon as one is sent: wait for it.
      if (!directMembers(this.only)?.includes(this.me)) {
        throw new DuoError(
          'not_member',
          `You (${this.me}) are not in a conversation "${this.only}". Run "duo tail" without an argument to see yours.`,
        );
      }
    }
    if (lines === 0) return [];
    const recent: Message[] = [];
    for (const conversation of conversations) {
      if (this.only !== undefined && conversation.id !== this.only) continue;
      if (conversation.lastMessageId === null) continue;
      const { messages } = await this.client.history(conversation.id, { limit: Math.min(lines, 500) });
      // Newer ones arrive through the stream, in order with everything else.
      recent.push(...messages.filter((m) => m.id <= upTo));
    }
    return recent.sort((a, b) => a.id - b.id).slice(-lines);
  }

  /** The online state of my contacts now, to announce only changes. */
  async presence(): Promise<Map<string, boolean>> {
    const { partners } = await this.client.partners();
    return new Map(partners.filter((p) => this.isContact(p.id)).map((p) => [p.id, p.online]));
  }

  private async refresh(): Promise<ConversationSummary[]> {
    const { conversations } = await this.client.conversations();
    for (const conversation of conversations) this.known.set(conversation.id, conversation);
    return conversations;
  }
}

/** Every conversation on the broker (the owner's view); the backlog comes from the stream's replay. */
export class EveryView implements TailView {
  readonly me = undefined;
  readonly known = new Map<string, ConversationSummary>();

  constructor(private readonly only: string | undefined) {}

  async shows(conversationId: string): Promise<boolean> {
    return this.only === undefined || conversationId === this.only;
  }

  isContact(partnerId: string): boolean {
    return this.only === undefined || (directMembers(this.only)?.includes(partnerId) ?? false);
  }

  async backlog(): Promise<Message[]> {
    return [];
  }
}
