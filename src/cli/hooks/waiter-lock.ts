/**
 * One waiter per Claude Code session. The Stop hook runs after every turn, and each run starts a
 * waiter; a pid file per session (`<key>.waiter`, see state.ts) names the current one, so a newer
 * waiter ends the older, and SessionEnd (or a new human turn) ends the session's waiter.
 *
 * A pid file outlives its process, and pids are reused: before signalling, the process must be
 * the very one the file names (same start time) and still run `duo … hook wait`. Anything else is
 * left alone.
 */
import { readFileSync, rmSync } from 'node:fs';
import { DUO_COMMAND } from '../claude-code.ts';
import type { Env } from '../command.ts';
import { processInfo, type ProcessInfo } from './processes.ts';
import { earlierSessionKey, sessionFile, writeAtomically } from './state.ts';

interface Named {
  pid: number;
  start: string;
}

/**
 * Makes this process the session's waiter, ending the one before it. Returns `release`, which
 * removes the pid file if it still names this process, or undefined when this process cannot be
 * told apart from others (no way to read its start time), so it must not wait at all.
 */
export function claimWaiter(env: Env, key: string): (() => void) | undefined {
  const me = processInfo(process.pid);
  if (!me) return undefined;
  endWaiter(env, key);
  const file = sessionFile(env, key, 'waiter');
  if (!writeAtomically(file, JSON.stringify({ pid: process.pid, start: me.start }))) return undefined;
  return () => {
    if (named(file)?.pid === process.pid) rmSync(file, { force: true });
  };
}

/** Whether the pid file of the session still names this process (a newer waiter did not take over). */
export function isCurrentWaiter(env: Env, key: string): boolean {
  return named(sessionFile(env, key, 'waiter'))?.pid === process.pid;
}

/** Ends the session's waiter, if one runs, and removes its pid file. */
export function endWaiter(env: Env, key: string): void {
  const file = sessionFile(env, key, 'waiter');
  const waiter = named(file);
  if (!waiter || waiter.pid === process.pid) return;
  const info = processInfo(waiter.pid);
  if (info && info.start === waiter.start && isWaiterProcess(info)) {
    try {
      process.kill(waiter.pid, 'SIGTERM');
    } catch {
      // ended meanwhile
    }
  }
  rmSync(file, { force: true });
}

/**
 * Ends a waiter an earlier version started for the session under its earlier key, so that after
 * an upgrade it neither wakes the session beside the new one nor after the user typed.
 */
export function endEarlierWaiter(env: Env, sessionId: string | undefined): void {
  const key = earlierSessionKey(sessionId);
  if (key !== undefined) endWaiter(env, key);
}

/** A process running `duo hook wait` (by the command's name or its entry file). */
export function isWaiterProcess(info: ProcessInfo): boolean {
  const at = info.argv.indexOf('hook');
  return (
    at >= 0 && info.argv[at + 1] === 'wait' && info.argv.slice(0, at).some((arg) => new RegExp(DUO_COMMAND).test(arg))
  );
}

function named(file: string): Named | undefined {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Partial<Named>;
    return typeof json.pid === 'number' && Number.isSafeInteger(json.pid) && typeof json.start === 'string'
      ? { pid: json.pid, start: json.start }
      : undefined;
  } catch {
    return undefined;
  }
}
