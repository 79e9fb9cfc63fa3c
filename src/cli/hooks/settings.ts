/**
 * The hooks' timings: the defaults of shared/defaults.ts, each with an environment override so a
 * test can shorten it. Kept apart from the hooks so the dispatcher can set each hook's backstop
 * before loading the hook.
 */
import { HOOK_LOOK_INTERVAL_MS, HOOK_WAIT_LIFETIME_MS } from '../../shared/defaults.ts';
import type { Env } from '../command.ts';

/** The waiter's lifetime: HOOK_WAIT_LIFETIME_MS, or DUO_HOOK_WAIT_SECONDS. */
export function waitLifetimeMs(env: Env): number {
  return secondsFrom(env.DUO_HOOK_WAIT_SECONDS) ?? HOOK_WAIT_LIFETIME_MS;
}

/** PostToolUse's least time between two looks: HOOK_LOOK_INTERVAL_MS, or DUO_HOOK_LOOK_SECONDS. */
export function lookIntervalMs(env: Env): number {
  return secondsFrom(env.DUO_HOOK_LOOK_SECONDS) ?? HOOK_LOOK_INTERVAL_MS;
}

function secondsFrom(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,6}$/.test(value) ? Number(value) * 1000 : undefined;
}
