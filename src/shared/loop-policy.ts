/**
 * The loop guard's setting: at most `limit` turns of one set of agents (see loop-guard.ts)
 * within `windowMs` while no human writes. Written `20/5m` (also `s` and `h`), or `off`.
 */

export interface LoopPolicy {
  /** Turns allowed within the window; the next one puts the conversation on hold. */
  limit: number;
  windowMs: number;
}

/**
 * Twenty turns within five minutes. Agents that answer each other in a loop (each turn
 * a few seconds of model time) pass that in one to two minutes; agents doing real work between
 * messages (reading, editing, running tests) send a few a minute and stay well below it.
 */
export const DEFAULT_LOOP_GUARD = '20/5m';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
const MAX_LIMIT = 100_000;
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/** Parses `N/T` (`20/5m`, `50/90s`, `100/1h`) or `off`; null means switched off. */
export function parseLoopPolicy(text: string): LoopPolicy | null {
  const value = text.trim().toLowerCase();
  if (value === 'off' || value === '0' || value === 'false') return null;
  const match = /^(\d{1,6})\s*\/\s*(\d{1,6})\s*([smh])$/.exec(value);
  const limit = Number(match?.[1]);
  const windowMs = Number(match?.[2]) * UNIT_MS[(match?.[3] ?? 's') as keyof typeof UNIT_MS];
  if (!match || limit < 1 || limit > MAX_LIMIT || windowMs < 1_000 || windowMs > MAX_WINDOW_MS) {
    throw new RangeError(
      `"${text}" is not a loop guard setting: write N/T, such as "${DEFAULT_LOOP_GUARD}" (N turns of the same agents within T seconds "s", minutes "m" or hours "h", up to a week), or "off".`,
    );
  }
  return { limit, windowMs };
}

/** `20 messages within 5 min`, for sentences shown to people and agents. */
export function describeLoopPolicy(policy: { limit: number; windowMs: number }): string {
  return `${policy.limit} message${policy.limit === 1 ? '' : 's'} within ${describeDuration(policy.windowMs)}`;
}

export function describeDuration(ms: number): string {
  if (ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h} h`;
  if (ms % UNIT_MS.m === 0) return `${ms / UNIT_MS.m} min`;
  return `${Math.round(ms / 1000)} s`;
}
