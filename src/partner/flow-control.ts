/**
 * Flow control between the inbox and the broker: `pause` when the inbox is full, `resume` (with
 * the `since` to send from) once it drained below half. The broker's pause state belongs to one
 * socket, so every new socket starts unpaused.
 *
 * Past the inbox's hard limit messages are dropped; the resume then asks for them again. Frames
 * already on the way would land above the gap, so the inbox keeps dropping until the broker
 * confirms the resume (`resumed`), after which it sends from `since` again.
 */
import type { AddResult, Inbox } from './inbox.ts';

/** What flow control needs from the connection. */
export interface FlowLink {
  readonly isOpen: boolean;
  pause(): boolean;
  resume(since: number): boolean;
}

export class FlowControl {
  private readonly inbox: Inbox;
  private readonly link: FlowLink;
  private paused = false;
  /** A resume after dropped messages was sent and the broker has not confirmed it yet. */
  private resuming = false;

  constructor(inbox: Inbox, link: FlowLink) {
    this.inbox = inbox;
    this.link = link;
  }

  /** True when more messages may be waiting on the broker than the inbox holds. */
  get saturated(): boolean {
    return this.inbox.isFull || this.inbox.isDropping;
  }

  /** A message arrived and was added, dropped, or was a duplicate. */
  received(result: AddResult): void {
    // While a resume is unconfirmed, drops are the frames already on the way: expected, and
    // pausing again would leave the broker paused with nobody left to resume it.
    if (this.resuming || this.paused) return;
    if (result === 'dropped' || this.inbox.isFull) this.pause();
  }

  /** Messages left the inbox: resume the broker once it drained below half. */
  drained(): void {
    if (!(this.paused || this.inbox.isDropping) || this.resuming || !this.inbox.isBelowHalf) return;
    // Disconnected: the next hello carries `since` and starts unpaused.
    if (!this.link.isOpen) return;
    this.resuming = this.inbox.isDropping;
    this.paused = false;
    this.link.resume(this.inbox.since);
  }

  /** A new socket was welcomed: it starts unpaused, so pause again at once if still full. */
  connected(): void {
    this.paused = false;
    this.resuming = false;
    this.inbox.resetDropping();
    if (this.inbox.isFull) this.pause();
  }

  /** The broker confirmed a resume: every later message starts above `since`. */
  resumed(): void {
    this.resuming = false;
    this.inbox.resetDropping();
    if (this.inbox.isFull && !this.paused) this.pause();
  }

  private pause(): void {
    this.paused = true;
    this.link.pause();
  }
}
