/**
 * How `listen` waits: until a message arrives, the timeout passes, or the request is cancelled.
 * A short broker outage is survived (the connection resumes where it left off); a longer one,
 * or losing the id to another session, ends the wait with an error rather than letting the
 * model wait for nothing.
 */
import type { DuoError } from '../shared/errors.ts';
import type { PartnerStatus as Status } from './partner.ts';

export type WaitEnd = 'message' | 'timeout' | 'cancelled';

export interface WaitOptions {
  /** Resolves true once a message is there, false when its signal aborts. */
  arrived: (signal: AbortSignal) => Promise<boolean>;
  /** Reports the partner's status as it changes. */
  status: {
    on(event: 'status', listener: (status: Status) => void): unknown;
    off(event: 'status', listener: (status: Status) => void): unknown;
  };
  timeoutMs: number;
  /** How long the broker may stay unreachable before the wait fails. */
  graceMs: number;
  signal: AbortSignal;
  /** The error for a connection lost for longer than the grace, or closed. */
  lost: () => DuoError;
  /** The error for an id taken over or unregistered meanwhile. */
  dormant: () => DuoError;
}

export function waitForMessage(options: WaitOptions): Promise<WaitEnd> {
  const { signal } = options;
  return new Promise<WaitEnd>((resolve, reject) => {
    const waiting = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (end: WaitEnd | DuoError) => {
      waiting.abort();
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal.removeEventListener('abort', onAbort);
      options.status.off('status', onStatus);
      if (typeof end === 'string') resolve(end);
      else reject(end);
    };
    const onAbort = () => finish('cancelled');
    const onStatus = (status: Status) => {
      if (status === 'replaced' || status === 'unregistered') finish(options.dormant());
      else if (status === 'closed') finish(options.lost());
      else if (status === 'ready') {
        clearTimeout(graceTimer);
        graceTimer = undefined;
      } else if (!graceTimer) {
        graceTimer = setTimeout(() => finish(options.lost()), options.graceMs);
      }
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    options.status.on('status', onStatus);
    if (signal.aborted) return finish('cancelled');
    void options.arrived(waiting.signal).then((found) => {
      if (found && !signal.aborted) finish('message');
    });
  });
}
