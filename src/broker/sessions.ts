/**
 * Live WebSocket sessions and the push path. Each partner has at most one session; a new one
 * takes over and the old one is closed with CloseCode.replaced.
 *
 * Delivery to a session is cursor-like: `sentUpTo` is the highest id pushed on this socket. A
 * committed message is pushed at once when the session is caught up; otherwise (replaying,
 * paused by the client's full inbox) the session is marked dirty and `pump` later reads what is
 * unread and above `sentUpTo` from the store. The store stays the truth; the push is a shortcut.
 *
 * Before a message is pushed, the store records that the partner was pushed up to its id (with
 * the send's own commit for a live push, through the write batcher for a catch-up page), so that
 * after a broker crash the replay still flags what was pushed before as redelivered.
 */
import { randomBytes } from 'node:crypto';
import { DRAIN_CHECK_MS, MAX_BUFFERED_BYTES, PUSH_PAGE_SIZE } from '../shared/limits.ts';
import { CloseCode, type Message, type ServerFrame } from '../shared/protocol.ts';

export interface SessionSocket {
  send(data: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued on the socket and not yet written to the network (ws keeps this count). */
  readonly bufferedAmount?: number;
}

/** Reads unread messages above `afterId`, oldest first, flagged `redelivered` where they apply. */
export type UnreadReader = (partnerId: string, afterId: number, limit: number) => Promise<Message[]>;
/** Records in the store that `partnerId` was pushed messages up to `upTo`. */
export type PushRecorder = (partnerId: string, upTo: number) => Promise<void>;

export class Session {
  /** Names this session to the other brokers of a team (takeover is decided per session). */
  readonly id = randomBytes(9).toString('base64url');
  sentUpTo: number;
  /** Highest id ever pushed to this partner, across sessions. */
  pushedUpTo: number;
  /** Highest id the store has recorded as pushed: a push above it records first. */
  recordedUpTo: number;
  /** Ids at or below this were pushed to an earlier session: replaying them is a redelivery. */
  private pushedBefore: number;
  private paused = false;
  private pumping = false;
  private dirty = false;
  closed = false;

  constructor(
    readonly partnerId: string,
    private readonly socket: SessionSocket,
    since: number,
    pushedUpTo: number,
    private readonly readUnread: UnreadReader,
    private readonly recordPushed: PushRecorder,
    private readonly onError: (error: unknown) => void,
    /** Told of every message pushed on this socket (delivery timing). */
    private readonly onPushed: (messageId: number) => void = () => {},
  ) {
    this.sentUpTo = since;
    this.pushedUpTo = pushedUpTo;
    this.recordedUpTo = pushedUpTo;
    this.pushedBefore = pushedUpTo;
  }

  /** Takes over what an older session of the same partner had pushed. */
  inherit(previous: Session): void {
    this.pushedUpTo = Math.max(this.pushedUpTo, previous.pushedUpTo);
    this.recordedUpTo = Math.max(this.recordedUpTo, previous.recordedUpTo);
    this.pushedBefore = Math.max(this.pushedBefore, previous.pushedUpTo);
  }

  /**
   * Whether a message delivered now would be pushed at once (rather than left to the pump). The
   * write path records, with the send's commit, that such sessions were pushed up to it.
   */
  get pushesAtOnce(): boolean {
    return !this.closed && !this.paused && !this.pumping && !this.dirty && !this.congested;
  }

  /** The store now records this partner as pushed up to `upTo`. */
  recorded(upTo: number): void {
    if (upTo > this.recordedUpTo) this.recordedUpTo = upTo;
  }

  send(frame: ServerFrame): void {
    if (this.closed) return;
    this.socket.send(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
  }

  /** The socket closed on its own (client left, heartbeat terminated it): stop all sending. */
  ended(): void {
    this.closed = true;
  }

  /** Called for every committed message addressed to this partner, in id order. */
  deliver(message: Message): void {
    if (this.closed) return;
    // Not recorded as pushed (its commit did not expect this session to push it): the pump records.
    if (!this.pushesAtOnce || message.id > this.recordedUpTo) {
      this.dirty = true;
      // Not paused and no pump running (congested, or the last pump failed): start one.
      if (!this.paused) void this.pump();
      return;
    }
    if (message.id <= this.sentUpTo) return;
    this.push(message);
  }

  pause(): void {
    this.paused = true;
  }

  /**
   * The client's inbox drained. It is the authority on what it holds: anything above `since`
   * that it dropped is sent again (its dedupe discards what it did keep).
   */
  resume(since: number): void {
    this.paused = false;
    this.sentUpTo = since;
    this.dirty = true;
    void this.pump();
  }

  /** Sends everything unread above `sentUpTo`, page by page, until caught up or paused. */
  async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (this.dirty && !this.paused && !this.closed) {
        while (this.congested && !this.paused && !this.closed)
          await new Promise((resolve) => setTimeout(resolve, DRAIN_CHECK_MS));
        if (this.paused || this.closed) break;
        this.dirty = false;
        const afterId = this.sentUpTo;
        const page = await this.readUnread(this.partnerId, afterId, PUSH_PAGE_SIZE);
        const top = page.at(-1)?.id ?? 0;
        if (top > this.recordedUpTo) await this.record(top);
        // A resume moved the starting point while we read: this page may skip a gap; read again.
        // A pause that came in while recording: push nothing until the resume.
        if (this.sentUpTo !== afterId || this.paused) {
          this.dirty = true;
          continue;
        }
        for (const message of page) {
          if (this.closed) return;
          if (this.congested) {
            // The rest of the page is read again once the socket drains.
            this.dirty = true;
            break;
          }
          if (message.id > this.sentUpTo) this.push(message);
        }
        if (page.length === PUSH_PAGE_SIZE) {
          this.dirty = true;
          // The store answers within the microtask queue, so without this the whole backlog would
          // go out before the client's `pause` (or `resume`) frame is even read: yield between pages.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } catch (error) {
      // The store failed; keep the session and try again on the next message.
      this.dirty = true;
      this.onError(error);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Records a page as pushed before pushing it. If the store refuses, the page goes out all the
   * same: a message delivered without its redelivered flag beats one held back.
   */
  private async record(upTo: number): Promise<void> {
    try {
      await this.recordPushed(this.partnerId, upTo);
      this.recorded(upTo);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Starts the replay that follows `welcome`. */
  replay(): Promise<void> {
    this.dirty = true;
    return this.pump();
  }

  /**
   * A client that stops reading (stuck, or its TCP window full) must not pull its whole backlog
   * into our memory: past a bound of unsent bytes, pushing waits until the socket drains.
   */
  private get congested(): boolean {
    return (this.socket.bufferedAmount ?? 0) > MAX_BUFFERED_BYTES;
  }

  private push(message: Message): void {
    const flagged = message.id <= this.pushedBefore ? { ...message, redelivered: true as const } : message;
    this.send({ type: 'message', message: flagged });
    this.onPushed(message.id);
    this.sentUpTo = message.id;
    if (message.id > this.pushedUpTo) this.pushedUpTo = message.id;
  }
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  get(partnerId: string): Session | undefined {
    return this.sessions.get(partnerId);
  }

  has(partnerId: string): boolean {
    return this.sessions.has(partnerId);
  }

  /** Live sessions (one per partner at most). */
  get size(): number {
    return this.sessions.size;
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Registers `session`, closing the partner's previous one. */
  attach(session: Session): Session | undefined {
    const previous = this.sessions.get(session.partnerId);
    this.sessions.set(session.partnerId, session);
    if (previous && previous !== session) {
      previous.close(CloseCode.replaced, 'another session of this partner took over');
    }
    return previous;
  }

  /** Removes `session` if it is still the partner's current one; true when it was. */
  detach(session: Session): boolean {
    if (this.sessions.get(session.partnerId) !== session) return false;
    this.sessions.delete(session.partnerId);
    return true;
  }
}
