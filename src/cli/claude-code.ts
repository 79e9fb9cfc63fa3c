/**
 * Where Claude Code keeps what `duo install` changes and `duo doctor` checks: hooks
 * (`~/.claude/settings.json`, `<project>/.claude/settings.json`) and the `claude` binary. The MCP
 * server entries are claude-mcp.ts's.
 *
 * Settings are merged, never replaced: other keys and other hooks stay as they are, ours are
 * recognised by their command (`… hook session-start`), so installing twice adds nothing and
 * uninstalling removes exactly ours.
 */
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { DuoError } from '../shared/errors.ts';
import { crypto } from '../shared/lazy-builtins.ts';
import type { Env } from './command.ts';

export type Scope = 'user' | 'project';

export function homeDir(env: Env): string {
  return env.HOME || homedir();
}

export function settingsPath(scope: Scope, env: Env, projectDir: string): string {
  return scope === 'user'
    ? join(homeDir(env), '.claude', 'settings.json')
    : join(projectDir, '.claude', 'settings.json');
}

/** The `claude` executable on PATH, if any. */
export function findClaude(env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'claude');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- hooks in settings.json

/** The Claude Code event of each duo hook, and the `duo hook` subcommand it runs. */
export const DUO_HOOKS = {
  SessionStart: 'session-start',
  SessionEnd: 'session-end',
  Stop: 'wait',
  PostToolUse: 'post-tool-use',
  UserPromptSubmit: 'user-prompt-submit',
} as const;
export type HookEvent = keyof typeof DUO_HOOKS;
export const HOOK_EVENTS = Object.keys(DUO_HOOKS) as HookEvent[];

/**
 * The first Claude Code version whose async hooks can wake an idle session (`asyncRewake`):
 * older ones run the Stop hook but ignore its exit 2.
 */
export const ASYNC_REWAKE_SINCE = '2.1.64';

export interface HookSpec {
  event: HookEvent;
  /** Which sources/reasons the hook runs for; omitted means all. */
  matcher?: string;
  command: string;
  /** Seconds Claude Code gives the command. */
  timeout: number;
  /** Runs in the background; with asyncRewake, its exit 2 wakes an idle session. */
  async?: true;
  asyncRewake?: true;
}

/**
 * The `duo` command, by name or by its entry files, the main one or the hooks' own (a clone's
 * folder need not be called duo).
 */
export const DUO_COMMAND = String.raw`(?:\bduo\b|\bcli/main\.[jt]s\b|\bcli/hook\.cjs\b)`;
const ours = (subcommand: string) => new RegExp(`${DUO_COMMAND}.*\\bhook ${subcommand}(?![\\w-])`);
const OURS = Object.fromEntries(HOOK_EVENTS.map((event) => [event, ours(DUO_HOOKS[event])])) as Record<
  HookEvent,
  RegExp
>;
const ANY_OF_OURS = ours(`(?:${Object.values(DUO_HOOKS).join('|')})`);

export interface CommandHook {
  type: string;
  command?: string;
  timeout?: number;
  async?: boolean;
  asyncRewake?: boolean;
  [key: string]: unknown;
}
interface MatcherGroup {
  matcher?: string;
  hooks: CommandHook[];
  [key: string]: unknown;
}

/** What settings.json holds for one hook of `spec`. */
function entryOf(spec: HookSpec): CommandHook {
  return {
    type: 'command',
    command: spec.command,
    timeout: spec.timeout,
    ...(spec.async ? { async: true } : {}),
    ...(spec.asyncRewake ? { asyncRewake: true } : {}),
  };
}

/**
 * Adds each hook to `settings` unless a duo hook for that event is already there (then its
 * command, timeout and async fields are brought up to date; other fields stay). Returns the new
 * settings and the events whose hook was added or updated.
 */
export function mergeHooks(
  settings: Record<string, unknown>,
  specs: readonly HookSpec[],
  file: string,
): { settings: Record<string, unknown>; added: HookEvent[]; updated: HookEvent[] } {
  const next = structuredClone(settings);
  const hooks = (next.hooks ??= {}) as Record<string, unknown>;
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) {
    throw new DuoError(
      'bad_request',
      `"hooks" in ${file} is not an object; fix it by hand, then run duo install again.`,
    );
  }
  const added: HookEvent[] = [];
  const updated: HookEvent[] = [];
  for (const spec of specs) {
    const groups = (hooks[spec.event] ??= []) as MatcherGroup[];
    if (!Array.isArray(groups))
      throw new DuoError(
        'bad_request',
        `"hooks.${spec.event}" in ${file} is not a list; fix it by hand, then run duo install again.`,
      );
    const existing = duoHookIn(groups, spec.event);
    if (existing) {
      const wanted = entryOf(spec);
      const stale = (['command', 'timeout', 'async', 'asyncRewake'] as const).filter(
        (key) => existing[key] !== wanted[key],
      );
      if (stale.length > 0) {
        for (const key of stale) {
          if (wanted[key] === undefined) delete existing[key];
          else existing[key] = wanted[key] as never;
        }
        updated.push(spec.event);
      }
      continue;
    }
    groups.push({ ...(spec.matcher === undefined ? {} : { matcher: spec.matcher }), hooks: [entryOf(spec)] });
    added.push(spec.event);
  }
  return { settings: next, added, updated };
}

/** The duo hook for `event` in `settings`, if there is one. */
export function findHook(settings: Record<string, unknown>, event: HookEvent): CommandHook | undefined {
  const hooks = settings.hooks;
  if (typeof hooks !== 'object' || hooks === null) return undefined;
  const groups = (hooks as Record<string, unknown>)[event];
  return Array.isArray(groups) ? duoHookIn(groups as MatcherGroup[], event) : undefined;
}

function duoHookIn(groups: readonly MatcherGroup[], event: HookEvent): CommandHook | undefined {
  return groups
    .flatMap((group) => (Array.isArray(group?.hooks) ? group.hooks : []))
    .find((hook) => typeof hook?.command === 'string' && OURS[event].test(hook.command));
}

/**
 * Removes every duo hook from `settings`, under whatever event it sits; a matcher group left
 * empty goes too, then an event left empty, then `hooks` if nothing is left in it. Everything
 * else stays as it is. Returns the new settings and the events a duo hook was removed from.
 */
export function removeHooks(settings: Record<string, unknown>): {
  settings: Record<string, unknown>;
  removed: string[];
} {
  const next = structuredClone(settings);
  const hooks = next.hooks;
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) return { settings: next, removed: [] };
  const byEvent = hooks as Record<string, unknown>;
  const removed: string[] = [];
  for (const [event, groups] of Object.entries(byEvent)) {
    if (!Array.isArray(groups)) continue;
    let found = false;
    const kept = (groups as MatcherGroup[]).flatMap((group) => {
      if (!Array.isArray(group?.hooks)) return [group];
      const others = group.hooks.filter(
        (hook) => !(typeof hook?.command === 'string' && ANY_OF_OURS.test(hook.command)),
      );
      if (others.length === group.hooks.length) return [group];
      found = true;
      return others.length === 0 ? [] : [{ ...group, hooks: others }];
    });
    if (!found) continue;
    removed.push(event);
    if (kept.length === 0) delete byEvent[event];
    else byEvent[event] = kept;
  }
  if (removed.length > 0 && Object.keys(byEvent).length === 0) delete next.hooks;
  return { settings: next, removed };
}

/** A JSON object file, `{}` when it does not exist; DuoError when it is not a JSON object. */
export function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DuoError('internal', `Cannot read ${file}: ${(error as Error).message}.`);
  }
  if (text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DuoError(
      'bad_request',
      `${file} is not valid JSON; fix it (or move it away), then run duo install again. Nothing was changed.`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DuoError(
      'bad_request',
      `${file} does not hold a JSON object; fix it, then run duo install again. Nothing was changed.`,
    );
  }
  return json as Record<string, unknown>;
}

/**
 * Writes `value` to `file` through a temporary file and a rename; an existing file is first
 * copied to `<file>.bak-<timestamp>`. Returns the backup's path, if one was made.
 */
export function writeJsonWithBackup(file: string, value: unknown, now: Date = new Date()): string | undefined {
  mkdirSync(dirname(file), { recursive: true });
  let backup: string | undefined;
  if (existsSync(file)) {
    backup = `${file}.bak-${now.toISOString().replace(/[:.]/g, '-')}`;
    // EXCL: never through a link planted at the backup's name.
    copyFileSync(file, backup, constants.COPYFILE_EXCL);
  }
  const temp = `${file}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new DuoError('internal', `Cannot write ${file}: ${(error as Error).message}.`);
  }
  return backup;
}
