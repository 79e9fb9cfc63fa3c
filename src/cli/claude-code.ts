/**
 * Where Claude Code keeps what `duo install` changes and `duo doctor` checks: hooks
 * (`~/.claude/settings.json`, `<project>/.claude/settings.json`) and the `claude` binary. The MCP
 * server entries are claude-mcp.ts's.
 *
 * Settings are merged, never replaced: other keys and other hooks stay as they are, ours are
 * recognised by their command (`… hook session-start`), so installing twice adds nothing.
 */
import { randomBytes } from 'node:crypto';
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

export type HookEvent = 'SessionStart' | 'SessionEnd';

export interface HookSpec {
  event: HookEvent;
  /** Which sources/reasons the hook runs for; omitted means all. */
  matcher?: string;
  command: string;
  /** Seconds Claude Code gives the command. */
  timeout: number;
}

/** The `duo` command, by name or by its entry file (a clone's folder need not be called duo). */
export const DUO_COMMAND = String.raw`(?:\bduo\b|\bcli/main\.[jt]s\b)`;
const OURS: Record<HookEvent, RegExp> = {
  SessionStart: new RegExp(`${DUO_COMMAND}.*\\bhook session-start\\b`),
  SessionEnd: new RegExp(`${DUO_COMMAND}.*\\bhook session-end\\b`),
};

interface CommandHook {
  type: string;
  command?: string;
  [key: string]: unknown;
}
interface MatcherGroup {
  matcher?: string;
  hooks: CommandHook[];
  [key: string]: unknown;
}

/**
 * Adds each hook to `settings` unless a duo hook for that event is already there (then its
 * command is brought up to date). Returns the new settings and what changed, in words.
 */
export function mergeHooks(
  settings: Record<string, unknown>,
  specs: readonly HookSpec[],
  file: string,
): { settings: Record<string, unknown>; changes: string[] } {
  const next = structuredClone(settings);
  const hooks = (next.hooks ??= {}) as Record<string, unknown>;
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) {
    throw new DuoError(
      'bad_request',
      `"hooks" in ${file} is not an object; fix it by hand, then run duo install again.`,
    );
  }
  const changes: string[] = [];
  for (const spec of specs) {
    const groups = (hooks[spec.event] ??= []) as MatcherGroup[];
    if (!Array.isArray(groups))
      throw new DuoError(
        'bad_request',
        `"hooks.${spec.event}" in ${file} is not a list; fix it by hand, then run duo install again.`,
      );
    const existing = groups
      .flatMap((group) => (Array.isArray(group?.hooks) ? group.hooks : []))
      .find((hook) => typeof hook?.command === 'string' && OURS[spec.event].test(hook.command));
    if (existing) {
      if (existing.command !== spec.command) {
        existing.command = spec.command;
        changes.push(`updated the ${spec.event} hook`);
      }
      continue;
    }
    groups.push({
      ...(spec.matcher === undefined ? {} : { matcher: spec.matcher }),
      hooks: [{ type: 'command', command: spec.command, timeout: spec.timeout }],
    });
    changes.push(`added the ${spec.event} hook`);
  }
  return { settings: next, changes };
}

/** Whether `settings` has a duo hook for `event`. */
export function hasHook(settings: Record<string, unknown>, event: HookEvent): boolean {
  const groups = (settings.hooks as Record<string, unknown> | undefined)?.[event];
  if (!Array.isArray(groups)) return false;
  return groups.some(
    (group: MatcherGroup) =>
      Array.isArray(group?.hooks) &&
      group.hooks.some((hook) => typeof hook?.command === 'string' && OURS[event].test(hook.command)),
  );
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
    copyFileSync(file, backup);
  }
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new DuoError('internal', `Cannot write ${file}: ${(error as Error).message}.`);
  }
  return backup;
}
