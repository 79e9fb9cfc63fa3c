/**
 * The partner's bounded in-memory inbox: messages the broker pushed that the model has not
 * consumed yet, in id order, without duplicates. SQLite on the broker is the store; this is a
 * cache, so when it is full the mailbox pauses the broker and nothing is lost.
 */
import { BoundedMap } from '../shared/bounded-map.ts';
import {
  INBOX_HARD_SLACK_BYTES,
  INBOX_HARD_SLACK_MESSAGES,
  INBOX_MESSAGE_OVERHEAD_BYTES,
  REMEMBERED_MESSAGE_IDS,
} from '../shared/defaults.ts';
import type { Message } from '../shared/protocol.ts';

export interface InboxLimits {
  /** Soft limits: reaching one asks the broker to pause. */
  maxMessages: number;
  maxBytes: number;
  /**
   * Hard limits, only a safety net against a broker that ignores `pause`. The broker stops at
   * a page boundary, so what it already sent (up to a page) must still fit: dropping is correct
   * but costs a resend, and the defaults leave room for that.
   */
  hardMaxMessages?: number;
  hardMaxBytes?: number;
}

export interface InboxFilter {
  conversationId?: string;
  /** Only messages with a higher id. */
  above?: number;
}

/** `dropped`: over the hard limit; the message stays unread on the broker and comes back on resume. */
export type AddResult = 'added' | 'duplicate' | 'dropped';

export interface ConversationUnread {
  conversationId: string;
  count: number;
  /** Sender id → number of messages, in order of first appearance. */
  senders: Map<string, number>;
}

function sizeOf(message: Message): number {
  return Buffer.byteLength(message.content, 'utf8') + INBOX_MESSAGE_OVERHEAD_BYTES;
}

function matches(message: Message, filter: InboxFilter): boolean {
  return (
    (filter.conversationId === undefined || message.conversationId === filter.conversationId) &&
    (filter.above === undefined || message.id > filter.above)
  );
}

export class Inbox {
  readonly limits: InboxLimits;
  private readonly hardMaxMessages: number;
  private readonly hardMaxBytes: number;
  private messages: Message[] = [];
  private totalBytes = 0;
  private readonly seen = new BoundedMap<number, true>(REMEMBERED_MESSAGE_IDS);
  /** Ids below this were forgotten by the dedupe set and count as seen. */
  private seenFloor = 0;
  private highest = 0;
  private dropping = false;
  /** Lowest id dropped since the last `resetDropping`: the broker must send from below it again. */
  private lowestDropped: number | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(limits: InboxLimits) {
    this.limits = limits;
    this.hardMaxMessages = limits.hardMaxMessages ?? limits.maxMessages * 2 + INBOX_HARD_SLACK_MESSAGES;
    this.hardMaxBytes = limits.hardMaxBytes ?? limits.maxBytes * 2 + INBOX_HARD_SLACK_BYTES;
  }

  /** Highest message id ever accepted (held or consumed). */
  get highWater(): number {
    return this.highest;
  }

  /**
   * The `since` for hello and resume: everything above it that is unread must come (again).
   * Normally the high-water mark; lower when a message below it was dropped, which happens when
   * frames of an earlier push were still in flight as the broker started resending.
   */
  get since(): number {
    return this.lowestDropped === undefined ? this.highest : Math.min(this.highest, this.lowestDropped - 1);
  }

  get size(): number {
    return this.messages.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** At or over a limit: time to ask the broker to pause. */
  get isFull(): boolean {
    return this.messages.length >= this.limits.maxMessages || this.totalBytes >= this.limits.maxBytes;
  }

  /** Drained below half of both limits: time to ask the broker to resume. */
  get isBelowHalf(): boolean {
    return this.messages.length < this.limits.maxMessages / 2 && this.totalBytes < this.limits.maxBytes / 2;
  }

  /** True once a message was dropped, until `resetDropping` (the broker was asked to resend). */
  get isDropping(): boolean {
    return this.dropping;
  }

  add(message: Message): AddResult {
    if (message.id < this.seenFloor || this.seen.has(message.id)) return 'duplicate';
    const bytes = sizeOf(message);
    // Once one message is dropped every later one is too (until the broker is asked to resend),
    // and `since` stays below the lowest dropped id, so nothing dropped is skipped.
    if (this.dropping || this.messages.length >= this.hardMaxMessages || this.totalBytes + bytes > this.hardMaxBytes) {
      this.dropping = true;
      this.lowestDropped = Math.min(this.lowestDropped ?? message.id, message.id);
      return 'dropped';
    }
    this.remember(message.id);
    this.highest = Math.max(this.highest, message.id);
    this.totalBytes += bytes;
    const last = this.messages.at(-1);
    if (last === undefined || last.id < message.id) {
      this.messages.push(message);
    } else {
      const index = this.messages.findIndex((held) => held.id > message.id);
      this.messages.splice(index, 0, message);
    }
    for (const wake of [...this.waiters]) wake();
    return 'added';
  }

  /** The broker was just asked to resend from `since`: accept messages again. */
  resetDropping(): void {
    this.dropping = false;
    this.lowestDropped = undefined;
  }

  /** The held messages matching `filter`, oldest first, without removing them. */
  peek(filter: InboxFilter = {}): readonly Message[] {
    return this.messages.filter((message) => matches(message, filter));
  }

  has(filter: InboxFilter = {}): boolean {
    return this.messages.some((message) => matches(message, filter));
  }

  /** Removes and returns up to `limit` of the oldest messages matching `filter`. */
  take(filter: InboxFilter = {}, limit = Number.POSITIVE_INFINITY): Message[] {
    const taken: Message[] = [];
    this.messages = this.messages.filter((message) => {
      if (taken.length >= limit || !matches(message, filter)) return true;
      taken.push(message);
      this.totalBytes -= sizeOf(message);
      return false;
    });
    return taken;
  }

  /** Removes every message of a conversation up to and including `upTo` (read elsewhere). */
  discard(conversationId: string, upTo: number): Message[] {
    const removed: Message[] = [];
    this.messages = this.messages.filter((message) => {
      if (message.conversationId !== conversationId || message.id > upTo) return true;
      removed.push(message);
      this.totalBytes -= sizeOf(message);
      return false;
    });
    return removed;
  }

  /**
   * Resolves true as soon as a message matching `filter` is held (at once if one already is),
   * or false when `signal` aborts. Nothing is removed: the caller takes.
   */
  waitFor(filter: InboxFilter, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.has(filter)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const wake = () => {
        if (this.has(filter)) done(true);
      };
      const onAbort = () => done(false);
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Unread counts per conversation, in order of each conversation's oldest held message. */
  unread(): ConversationUnread[] {
    const byConversation = new Map<string, ConversationUnread>();
    for (const message of this.messages) {
      let entry = byConversation.get(message.conversationId);
      if (!entry) {
        entry = { conversationId: message.conversationId, count: 0, senders: new Map() };
        byConversation.set(message.conversationId, entry);
      }
      entry.count += 1;
      entry.senders.set(message.from, (entry.senders.get(message.from) ?? 0) + 1);
    }
    return [...byConversation.values()];
  }

  /** Remembers `id` as seen; the id it pushes out of memory raises the floor below which all count as seen. */
  private remember(id: number): void {
    if (this.seen.size >= this.seen.capacity) {
      const oldest = this.seen.keys().next().value!;
      this.seenFloor = Math.max(this.seenFloor, Math.min(oldest + 1, this.highest));
    }
    this.seen.set(id, true);
  }
}
