/**
 * What the hooks of one Claude Code session remember between runs, in small files under
 * `$XDG_STATE_HOME/claude-duo/hooks/` (one folder for the user, mode 0700):
 *
 * - `<key>.json`: when PostToolUse last looked at the broker (its rate limit), and which
 *   messages were announced without being shown (too long for a hook: the model was told to call
 *   listen once; saying it again at every tool call would nag).
 * - `<key>.waiter`: the session's waiting Stop hook (waiter-lock.ts).
 * - `<key>.lock`: a folder that exists while one PostToolUse decides whether to look, so two tool
 *   calls that end together do not both look (and show the same messages twice).
 *
 * The key is the session's UUID as 32 hex digits, or a hash of any other id, so no input can name a
 * path. Every read tolerates a missing or damaged file and every write is best effort: a hook never
 * fails over its memory.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crypto } from '../../shared/lazy-builtins.ts';
import { stateDir } from '../../shared/paths.ts';
import { createPrivate, privateDir } from '../../shared/private-files.ts';
import type { Env } from '../command.ts';

export interface SessionState {
  /** Epoch ms of PostToolUse's last look at the broker. */
  lastLook?: number;
  /** Message ids announced (too long to show) and not acked: announced once, not again. */
  announced: number[];
}

/** Announced ids kept per session; older ones are forgotten (they were announced long ago). */
const MAX_ANNOUNCED = 200;
/** Files of sessions that ended without SessionEnd (a crash, a kill) are removed after this long. */
const STALE_MS = 2 * 24 * 3_600_000;

export function hooksDir(env: Env): string {
  return join(stateDir(env), 'hooks');
}

/** Claude Code's session ids: a UUID is already 32 hex digits, safe as a file name. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The file-name key of a session, 32 hex digits: its id when that is a UUID (what Claude Code
 * sends; no hash, so PostToolUse, at every tool call, need not load node:crypto), else a hash of
 * its id (or of `fallback` when there is none).
 */
export function sessionKey(sessionId: string | undefined, fallback = 'no-session'): string {
  if (sessionId !== undefined && UUID.test(sessionId)) return sessionId.replaceAll('-', '').toLowerCase();
  return hashedKey(sessionId, fallback);
}

/**
 * The key earlier versions gave a session whose id is a UUID (a hash of it), else undefined: a
 * waiter started before an upgrade sits under it (see endEarlierWaiter).
 */
export function earlierSessionKey(sessionId: string | undefined): string | undefined {
  return sessionId !== undefined && UUID.test(sessionId) ? hashedKey(sessionId) : undefined;
}

function hashedKey(sessionId: string | undefined, fallback = 'no-session'): string {
  return crypto()
    .createHash('sha256')
    .update(sessionId ?? `\0${fallback}`)
    .digest('hex')
    .slice(0, 32);
}

export function sessionFile(env: Env, key: string, ext: 'json' | 'waiter' | 'lock'): string {
  return join(hooksDir(env), `${key}.${ext}`);
}

export function readState(env: Env, key: string): SessionState {
  try {
    const json = JSON.parse(readFileSync(sessionFile(env, key, 'json'), 'utf8')) as Partial<SessionState>;
    return {
      ...(typeof json.lastLook === 'number' ? { lastLook: json.lastLook } : {}),
      announced: Array.isArray(json.announced) ? json.announced.filter(Number.isSafeInteger) : [],
    };
  } catch {
    return { announced: [] };
  }
}

export function writeState(env: Env, key: string, state: SessionState): void {
  const announced = state.announced.slice(-MAX_ANNOUNCED);
  writeAtomically(sessionFile(env, key, 'json'), JSON.stringify({ ...state, announced }));
}

/** Temporary files this process wrote, for unique names. */
let written = 0;

/**
 * Writes a file of the hooks folder (sessionFile), keeping that folder and the state folder
 * above it private, through a new temporary file (created exclusively, so a planted link is
 * never written through) and a rename, so a reader never sees half a file. Best effort. The
 * temporary name needs to be unique, not secret (no one else can write in the private folder):
 * process id, time and a count, so a look at the broker loads no node:crypto.
 */
export function writeAtomically(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${Date.now()}.${++written}.tmp`;
  try {
    privateHooksDir(join(file, '..'));
    createPrivate(temp, text);
    renameSync(temp, file);
    return true;
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
}

/** The hooks folder and the state folder above it, both private (0700). */
function privateHooksDir(dir: string): void {
  privateDir(join(dir, '..'));
  privateDir(dir);
}

/** A lock older than this was left by a hook that died holding it. */
const STALE_LOCK_MS = 10_000;

/**
 * Whether this hook may look at the broker now: no look in this session within `intervalMs`, and
 * no other hook of the session deciding at the same moment. If so, records the look.
 */
export function claimLook(env: Env, key: string, intervalMs: number, now = Date.now()): boolean {
  const lock = sessionFile(env, key, 'lock');
  try {
    privateHooksDir(hooksDir(env));
    mkdirSync(lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
    try {
      if (now - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
    return false;
  }
  try {
    const state = readState(env, key);
    if (state.lastLook !== undefined && state.lastLook <= now && now - state.lastLook < intervalMs) return false;
    writeState(env, key, { ...state, lastLook: now });
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Removes what the session's hooks remembered. */
export function forgetSession(env: Env, key: string): void {
  rmSync(sessionFile(env, key, 'json'), { force: true });
}

/** Removes files of sessions that went away long ago without saying so. */
export function pruneStale(env: Env, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(hooksDir(env));
  } catch {
    return;
  }
  for (const name of names) {
    const file = join(hooksDir(env), name);
    try {
      if (now - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
    } catch {
      // gone already
    }
  }
}
