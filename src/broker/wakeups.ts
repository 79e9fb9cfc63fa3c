/**
 * Long-poll wake-ups: a waiter per parked REST listen, woken when a message for its partner
 * commits, when its timeout passes, or when its request is aborted.
 */
export interface Wakeup {
  /** Resolves on wake, timeout or abort; never rejects. */
  promise: Promise<void>;
  cancel(): void;
}

export class Wakeups {
  private readonly waiters = new Map<string, Set<() => void>>();

  arm(key: string, timeoutMs: number, signal?: AbortSignal): Wakeup {
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const cancel = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
      const current = this.waiters.get(key);
      current?.delete(cancel);
      if (current?.size === 0) this.waiters.delete(key);
      done();
    };
    const timer = setTimeout(cancel, timeoutMs);
    signal?.addEventListener('abort', cancel, { once: true });
    set.add(cancel);
    return { promise, cancel };
  }

  wake(key: string): void {
    const set = this.waiters.get(key);
    if (set) for (const wakeUp of [...set]) wakeUp();
  }

  /** Wakes every waiter: each reads the store again (after news may have been missed). */
  wakeAll(): void {
    for (const key of [...this.waiters.keys()]) this.wake(key);
  }
}
