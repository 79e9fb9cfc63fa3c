/**
 * The partner's mailbox: the one owner of the messages pushed by the broker and of what became
 * of them. A message is read (acked to the broker) only when its text reached the model: `take`
 * handed it to a tool result. A channel event proves nothing (Claude Code drops them silently
 * where channels are off), so it changes nothing here. When another client of this partner
 * showed messages to the model (a hook), the broker says so with a `read` frame and they go.
 * Everything else stays unread on the broker and comes back after a restart.
 *
 * It keeps the inbox within bounds by pausing and resuming the broker, and it remembers the
 * conversation the model read or wrote in last, where a `talk` without a target goes.
 */
import { EventEmitter } from 'node:events';
import type { Message } from '../shared/protocol.ts';
import type { ConnectionState } from '../client/connection.ts';
import { FlowControl, type FlowLink } from './flow-control.ts';
import { Inbox, type InboxLimits } from './inbox.ts';

/** What the mailbox needs from the connection: acks, flow control, and what arrives. */
export interface MailboxLink extends FlowLink {
  ack(conversationId: string, upTo: number): void;
  forgetConversation(conversationId: string): void;
  on(event: 'message', listener: (message: Message) => void): unknown;
  on(event: 'state', listener: (state: ConnectionState) => void): unknown;
  on(event: 'resumed', listener: (since: number) => void): unknown;
  on(event: 'read', listener: (conversationId: string, upTo: number) => void): unknown;
}

type MailboxEvents = {
  /** A message new to the inbox, in the order received. */
  message: [message: Message];
};

export class Mailbox extends EventEmitter<MailboxEvents> {
  private readonly inbox: Inbox;
  private readonly flow: FlowControl;
  private readonly link: MailboxLink;
  /** Per conversation, the read cursor the broker reported: nothing at or below it is new. */
  private readonly readUpTo = new Map<string, number>();
  private lastConversationId: string | undefined;

  constructor(limits: InboxLimits, link: MailboxLink) {
    super();
    this.inbox = new Inbox(limits);
    this.flow = new FlowControl(this.inbox, link);
    this.link = link;
    link.on('message', (message) => this.receive(message));
    link.on('state', (state) => {
      if (state === 'open') this.flow.connected();
    });
    link.on('resumed', () => this.flow.resumed());
    link.on('read', (conversationId, upTo) => this.readElsewhere(conversationId, upTo));
  }

  /** The `since` of the next hello: everything unread above it must come (again). */
  get since(): number {
    return this.inbox.since;
  }

  /** The conversation of the message the model read or sent last. */
  get lastConversation(): string | undefined {
    return this.lastConversationId;
  }

  /** True when more messages may be waiting on the broker than the inbox holds. */
  get saturated(): boolean {
    return this.flow.saturated;
  }

  /** How much the inbox holds right now. */
  get usage(): { messages: number; bytes: number } {
    return { messages: this.inbox.size, bytes: this.inbox.bytes };
  }

  /** A message pushed by the broker: kept once, in id order; new ones are announced. */
  receive(message: Message): void {
    if (message.id <= (this.readUpTo.get(message.conversationId) ?? 0)) return;
    const result = this.inbox.add(message);
    this.flow.received(result);
    if (result === 'added') this.emit('message', message);
  }

  /** Removes up to `limit` held messages and marks them read: they are about to reach the model. */
  take(conversationId: string | undefined, limit: number): Message[] {
    const messages = this.inbox.take(filter(conversationId), limit);
    const upTo = new Map<string, number>();
    for (const message of messages)
      upTo.set(message.conversationId, Math.max(upTo.get(message.conversationId) ?? 0, message.id));
    for (const [conversation, id] of upTo) this.link.ack(conversation, id);
    const last = messages.at(-1);
    if (last) this.lastConversationId = last.conversationId;
    this.flow.drained();
    return messages;
  }

  /**
   * The model was shown the messages `shown` of `conversationId` (a history page): the held ones
   * among them are read. Only an unbroken run from the oldest held message counts, since an ack
   * moves the cursor over everything below it.
   */
  takeShown(conversationId: string, shown: ReadonlySet<number>): Message[] {
    const held = this.inbox.peek({ conversationId });
    let run = 0;
    while (run < held.length && shown.has(held[run]!.id)) run++;
    return run === 0 ? [] : this.take(conversationId, run);
  }

  /** The model wrote in `conversationId`: a `talk` without a target goes there next. */
  wroteIn(conversationId: string): void {
    this.lastConversationId = conversationId;
  }

  /** This partner left `conversationId`: its messages and read state go. */
  leave(conversationId: string): void {
    this.inbox.discard(conversationId, Number.MAX_SAFE_INTEGER);
    this.link.forgetConversation(conversationId);
    this.readUpTo.delete(conversationId);
    if (this.lastConversationId === conversationId) this.lastConversationId = undefined;
    this.flow.drained();
  }

  /** The held messages (of one conversation, when given), oldest first, without removing them. */
  held(conversationId?: string): readonly Message[] {
    return this.inbox.peek(filter(conversationId));
  }

  /** Resolves true once a message (of `conversationId`) is held, false when `signal` aborts. */
  waitFor(conversationId: string | undefined, signal: AbortSignal, above?: number): Promise<boolean> {
    return this.inbox.waitFor({ ...filter(conversationId), ...(above === undefined ? {} : { above }) }, signal);
  }

  /** Another client of this partner showed the model `conversationId` up to `upTo`: read. */
  private readElsewhere(conversationId: string, upTo: number): void {
    if (upTo <= (this.readUpTo.get(conversationId) ?? 0)) return;
    this.readUpTo.set(conversationId, upTo);
    if (this.inbox.discard(conversationId, upTo).length > 0) this.flow.drained();
  }
}

function filter(conversationId: string | undefined): { conversationId?: string } {
  return conversationId === undefined ? {} : { conversationId };
}
