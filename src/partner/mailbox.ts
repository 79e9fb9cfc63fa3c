/**
 * The partner's mailbox: the one owner of the messages pushed by the broker and of what became
 * of them. A message is read (acked to the broker) when it reached the model: `take` handed it to
 * a `listen` result, or the model replied in its conversation after it was shown as a channel
 * event. Everything else stays unread on the broker and comes back after a restart.
 *
 * It keeps the inbox within bounds by pausing and resuming the broker, and it remembers the
 * conversation of the last message the model saw, where a `talk` without a target goes.
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
}

type MailboxEvents = {
  /** A message new to the inbox, in the order received. */
  message: [message: Message];
};

export class Mailbox extends EventEmitter<MailboxEvents> {
  private readonly inbox: Inbox;
  private readonly flow: FlowControl;
  private readonly link: MailboxLink;
  /** Per conversation, the highest message id pushed to the model as a channel event. */
  private readonly shown = new Map<string, number>();
  /** Per conversation, messages at or below this id were shown and then replied to: read. */
  private readonly repliedUpTo = new Map<string, number>();
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
  }

  /** The `since` of the next hello: everything unread above it must come (again). */
  get since(): number {
    return this.inbox.since;
  }

  /** The conversation of the message the model saw or sent last. */
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
    const result = this.inbox.add(message);
    if (result === 'added') this.makeRoom();
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

  /** A message was pushed to the model as a channel event (shown, not yet read). */
  markShown(message: Message): void {
    this.shown.set(message.conversationId, Math.max(this.shown.get(message.conversationId) ?? 0, message.id));
    this.lastConversationId = message.conversationId;
  }

  /**
   * The model sent a message in `conversationId`: what it was shown there before counts as read.
   * Those messages stay held, out of the unread footer, so a client that ignores channel events
   * still gets them from `listen`: a duplicate is cheaper than a loss.
   */
  repliedIn(conversationId: string): void {
    this.lastConversationId = conversationId;
    const upTo = this.shown.get(conversationId);
    if (upTo === undefined) return;
    this.shown.delete(conversationId);
    this.repliedUpTo.set(conversationId, Math.max(this.repliedUpTo.get(conversationId) ?? 0, upTo));
    this.link.ack(conversationId, upTo);
    this.makeRoom();
  }

  /** This partner left `conversationId`: its messages and read state go. */
  leave(conversationId: string): void {
    this.inbox.discard(conversationId, Number.MAX_SAFE_INTEGER);
    this.link.forgetConversation(conversationId);
    this.shown.delete(conversationId);
    this.repliedUpTo.delete(conversationId);
    if (this.lastConversationId === conversationId) this.lastConversationId = undefined;
    this.flow.drained();
  }

  /** The held messages (of one conversation, when given), oldest first, without removing them. */
  held(conversationId?: string): readonly Message[] {
    return this.inbox.peek(filter(conversationId));
  }

  /** Resolves true once a message (of `conversationId`) is held, false when `signal` aborts. */
  waitFor(conversationId: string | undefined, signal: AbortSignal): Promise<boolean> {
    return this.inbox.waitFor(filter(conversationId), signal);
  }

  /** Held messages the model has neither taken nor answered, for the unread footer. */
  unread(): Message[] {
    return this.inbox.peek().filter((message) => !this.wasAnswered(message));
  }

  /** True for a message shown as a channel event that the model has since replied after. */
  wasAnswered(message: Message): boolean {
    return message.id <= (this.repliedUpTo.get(message.conversationId) ?? 0);
  }

  /**
   * Answered messages are read already and stay only as a courtesy to clients that ignore
   * channel events. When the inbox is full they make room, so a channel-only session never ends
   * up paused with nothing it would call listen for.
   */
  private makeRoom(): void {
    if (!this.inbox.isFull) return;
    for (const [conversationId, upTo] of this.repliedUpTo) this.inbox.discard(conversationId, upTo);
    this.flow.drained();
  }
}

function filter(conversationId: string | undefined): { conversationId?: string } {
  return conversationId === undefined ? {} : { conversationId };
}
