/**
 * Scale of the fault and hostile suites: CI size under `npm test`, full size under
 * `npm run test:chaos` (DUO_CHAOS=1). Every such test prints one summary line with its figures.
 */
export const CHAOS = process.env.DUO_CHAOS === '1';

/** `ci` in a normal run, `chaos` under DUO_CHAOS=1. */
export function scale<T>(ci: T, chaos: T): T {
  return CHAOS ? chaos : ci;
}

/** One summary line a human can grep for in the test output. */
export function figure(name: string, values: Record<string, unknown>): void {
  const parts = Object.entries(values).map(
    ([key, value]) =>
      `${key}=${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : String(value)}`,
  );
  console.log(`[figure] ${name}${CHAOS ? ' (chaos)' : ''}: ${parts.join(' ')}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it holds; returns the time it took. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 10,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
