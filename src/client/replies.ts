/**
 * Requests over the WebSocket that wait for an answer: each frame carries a `ref`, and the
 * broker's `sent` or `error` frame echoes it. A request fails on its own deadline or as soon as
 * the socket drops, never hangs; the caller decides whether to retry (over REST, with the same
 * clientMsgId, so nothing is stored twice).
 */
import { DuoError } from '../shared/errors.ts';

interface Waiting<T> {
  resolve: (reply: T) => void;
  reject: (error: DuoError) => void;
  timer: NodeJS.Timeout;
}

export class PendingReplies<T> {
  private readonly waiting = new Map<string, Waiting<T>>();
  private nextRef = 0;

  /** A fresh ref and a promise of its reply, rejected with `unavailable` after `timeoutMs`. */
  open(timeoutMs: number, lateMessage: string): { ref: string; reply: Promise<T> } {
    const ref = `r${++this.nextRef}`;
    const reply = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new DuoError('unavailable', lateMessage));
      }, timeoutMs);
      this.waiting.set(ref, { resolve, reject, timer });
    });
    return { ref, reply };
  }

  /** Settles the request `ref` with a reply; false when no request waits for it. */
  resolve(ref: string | undefined, reply: T): boolean {
    const waiting = this.take(ref);
    waiting?.resolve(reply);
    return waiting !== undefined;
  }

  /** Settles the request `ref` with an error; false when no request waits for it. */
  reject(ref: string | undefined, error: DuoError): boolean {
    const waiting = this.take(ref);
    waiting?.reject(error);
    return waiting !== undefined;
  }

  /** Fails every waiting request (the socket dropped, or the client is closing). */
  rejectAll(why: string): void {
    for (const ref of [...this.waiting.keys()]) this.reject(ref, new DuoError('unavailable', why));
  }

  private take(ref: string | undefined): Waiting<T> | undefined {
    if (ref === undefined) return undefined;
    const waiting = this.waiting.get(ref);
    if (!waiting) return undefined;
    this.waiting.delete(ref);
    clearTimeout(waiting.timer);
    return waiting;
  }
}
