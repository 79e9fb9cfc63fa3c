/**
 * Where the broker reads the time, so tests can fix it. Timestamps are for display only: message
 * order comes from ids, never from clocks.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The current time as stored and sent: UTC, ISO 8601, millisecond precision. */
export function isoNow(clock: Clock): string {
  return clock.now().toISOString();
}
