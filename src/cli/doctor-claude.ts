/**
 * The Claude Code half of `duo doctor`: which duo server Claude Code really runs in this project
 * (asking `claude mcp get duo` when claude is installed, else reading its files with its
 * precedence), whether it waits for approval, and what environment it gives the partner, so the
 * rest of the doctor checks the broker that partner really uses; which duo hooks are installed;
 * and whether the installed Claude Code can wake an idle session.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { describeError } from '../shared/errors.ts';
import { splitBrokerUrls } from '../client/endpoint.ts';
import {
  ASYNC_REWAKE_SINCE,
  DUO_HOOKS,
  findHook,
  HOOK_EVENTS,
  readJsonObject,
  settingsPath,
  type CommandHook,
  type HookEvent,
} from './claude-code.ts';
import type { Env } from './command.ts';
import {
  askClaude,
  APPROVE_HOW,
  duoServerInUse,
  findDuoServers,
  type ClaudeAnswer,
  type McpEntry,
} from './claude-mcp.ts';

export type Level = 'ok' | 'warn' | 'fail';
export type Report = (level: Level, text: string, fix?: string) => void;

export interface ClaudeSetup {
  /** The entry Claude Code starts for duo, if any. */
  inUse: McpEntry | undefined;
  /** A project (.mcp.json) entry that is not started: waiting for approval, or rejected. */
  blocked: McpEntry | undefined;
  /** Other entries of the same name that the one in use hides. */
  shadowed: McpEntry[];
  /** `claude mcp get duo`'s answer; `unreadable` when claude ran but said nothing we understand. */
  answer: ClaudeAnswer | 'unknown' | 'unreadable' | undefined;
}

/** Environment keys of the server entry that change what the partner does. */
const PARTNER_KEYS = ['BROKER_URL', 'PARTNER_ID', 'PARTNER_NAME', 'DUO_TOKEN'] as const;

export function readClaudeSetup(env: Env, projectDir: string, claude: string | undefined): ClaudeSetup {
  const entries = findDuoServers(env, projectDir);
  const answer = claude ? askClaude(claude, 'duo', env, projectDir) : undefined;
  let inUse = duoServerInUse(entries);
  if (typeof answer === 'object') {
    // Claude Code's own answer wins; the files only say where that entry lives.
    const pending = /pending|rejected/i.test(answer.status);
    const found = entries.find((entry) => entry.name === 'duo' && entry.scope === answer.scope);
    const entry: McpEntry = found
      ? { ...found, env: { ...found.env, ...answer.env } }
      : { where: `${answer.scope} scope`, scope: answer.scope, name: 'duo', command: '', args: [], env: answer.env };
    if (pending) entry.approval = /rejected/i.test(answer.status) ? 'rejected' : 'pending';
    inUse = pending ? undefined : entry;
    if (pending) return { inUse, blocked: entry, shadowed: [], answer };
  } else if (answer === 'unreadable' && inUse === undefined) {
    // claude knows a duo server but said nothing we could read: take the files' entry as running.
    inUse = entries.find((entry) => entry.name === 'duo');
  }
  const name = inUse?.name ?? 'duo';
  const blocked = entries.find(
    (entry) => entry.name === name && entry.scope === 'project' && entry.approval !== 'approved' && entry !== inUse,
  );
  const shadowed = entries.filter(
    (entry) => inUse && entry.name === inUse.name && entry.scope !== inUse.scope && entry !== blocked,
  );
  return { inUse, blocked, shadowed, answer };
}

/** The environment to check with: the shell's, over what the entry gives the partner. */
export function partnerEnv(env: Env, setup: ClaudeSetup): Env {
  const fromEntry: Env = {};
  for (const key of PARTNER_KEYS) if (setup.inUse?.env[key]) fromEntry[key] = setup.inUse.env[key];
  const own = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  return { ...fromEntry, ...own };
}

export function reportClaudeSetup(setup: ClaudeSetup, brokerUrl: string, report: Report): void {
  const { inUse, blocked, shadowed, answer } = setup;
  if (blocked) {
    const rejected = blocked.approval === 'rejected';
    const waiting = rejected ? 'was rejected in your Claude Code settings' : 'is waiting for your approval';
    const fix = rejected
      ? 'Remove "duo" from "disabledMcpjsonServers" (or run `claude mcp reset-project-choices`), then approve it when claude asks'
      : APPROVE_HOW;
    if (inUse)
      report(
        'warn',
        `The duo server in ${blocked.where} ${waiting}; Claude Code runs the one in ${inUse.where} instead (once approved, the project's replaces it).`,
        `${fix}, or remove it from .mcp.json.`,
      );
    else
      report(
        'fail',
        `The duo server in ${blocked.where} ${waiting}: Claude Code does not start it, so no partner runs in this project.`,
        `${fix}.`,
      );
  }
  if (!inUse) {
    if (!blocked)
      report(
        'fail',
        'Claude Code does not run the duo partner in this project (not in ~/.claude.json or .mcp.json).',
        'Run `duo install` (add --scope project for this folder only).',
      );
    return;
  }
  const status = typeof answer === 'object' ? ` — claude mcp get duo: ${answer.status}` : '';
  const hidden =
    shadowed.length > 0
      ? ` (it takes precedence over ${shadowed.map((entry) => entry.where).join(' and ')}: local, then project, then user)`
      : '';
  if (typeof answer === 'object' && /fail|✘|✗|error/i.test(answer.status)) {
    report(
      'fail',
      `Claude Code cannot start the duo partner configured in ${inUse.where}${status}.`,
      'Run `claude mcp list` for details; `duo install` again after `claude mcp remove duo` writes a fresh entry.',
    );
  } else {
    report('ok', `Claude Code runs the duo partner: "${inUse.name}" in ${inUse.where}${hidden}${status}.`);
  }
  if (answer === 'unreadable')
    report(
      'warn',
      'Could not read the answer of `claude mcp get duo`: whether Claude Code approved it was not checked.',
    );
  const missing = missingEntryFile(inUse);
  if (missing)
    report(
      'fail',
      `That entry runs ${missing}, which does not exist (moved or deleted?).`,
      `claude mcp remove ${inUse.name} -s ${inUse.scope}, then duo install.`,
    );
  const url = inUse.env.BROKER_URL;
  // Compared as lists, entry by entry, as the config normalises them.
  if (url !== undefined && splitBrokerUrls(url).join(',') !== brokerUrl) {
    report(
      'warn',
      `That entry uses BROKER_URL=${url}, but this check used ${brokerUrl}.`,
      'Make them agree: set BROKER_URL here, or re-add the server with duo install --broker <url>.',
    );
  }
}

/** The script a `node <script> …` entry runs, when it is an absolute path that is not there. */
function missingEntryFile(entry: McpEntry): string | undefined {
  if (!/(^|\/)node$/.test(entry.command)) return undefined;
  const script = entry.args.find((arg) => !arg.startsWith('-'));
  return script && isAbsolute(script) && !existsSync(script) ? script : undefined;
}

/** What a session loses without each duo hook, for the doctor's warning. */
const WITHOUT: Record<HookEvent, string> = {
  SessionStart: 'new sessions do not learn their partner id and unread messages when they start',
  SessionEnd: 'a session that ends leaves its partner online for a while, and its waiting Stop hook running',
  Stop: 'an idle session is not woken when a message arrives',
  PostToolUse: 'a working session sees new messages only when its agent calls a duo tool',
  UserPromptSubmit: 'new messages are not shown at your prompts',
};

/**
 * Reports each duo hook as installed (in user or project settings) or missing, and a Stop hook
 * that would block instead of waiting in the background. True when the three hooks that bring
 * messages to the model without channels (Stop, PostToolUse, UserPromptSubmit) are all there.
 */
export function reportHooks(env: Env, projectDir: string, report: Report): boolean {
  const found = new Map<HookEvent, { hook: CommandHook; file: string }>();
  for (const scope of ['user', 'project'] as const) {
    const file = settingsPath(scope, env, projectDir);
    let settings: Record<string, unknown>;
    try {
      settings = readJsonObject(file);
    } catch (error) {
      report('warn', `Could not read ${file}: ${describeError(error)}`);
      continue;
    }
    for (const event of HOOK_EVENTS) {
      const hook = findHook(settings, event);
      if (hook && !found.has(event)) found.set(event, { hook, file });
    }
  }
  const present = HOOK_EVENTS.filter((event) => found.has(event));
  if (present.length > 0) {
    const files = [...new Set([...found.values()].map((f) => f.file))].join(' and ');
    report('ok', `The duo hooks ${present.join(', ')} are installed (${files}).`);
  }
  // Hooks an earlier `duo install` wrote run the main entry: they work, but start slower.
  const throughMain = present.filter((event) => /\bcli\/main\.[jt]s\b/.test(found.get(event)!.hook.command ?? ''));
  if (throughMain.length > 0) {
    report(
      'warn',
      `The duo hooks ${throughMain.join(', ')} run duo's main entry (main.js), which starts slower at every hook than the hooks' own entry (hook.cjs).`,
      'Run `duo install` to bring them up to date.',
    );
  }
  for (const event of HOOK_EVENTS.filter((e) => !found.has(e))) {
    report(
      'warn',
      `The duo ${event} hook ("duo hook ${DUO_HOOKS[event]}") is not installed: ${WITHOUT[event]}.`,
      'Run `duo install` (it adds what is missing and leaves the rest).',
    );
  }
  const stop = found.get('Stop')?.hook;
  if (stop && (stop.async !== true || stop.asyncRewake !== true)) {
    report(
      'fail',
      `The duo Stop hook in ${found.get('Stop')!.file} lacks "async": true / "asyncRewake": true: it would hold every session at the end of each turn instead of waiting in the background.`,
      'Run `duo install` to bring it up to date.',
    );
  }
  return found.has('Stop') && found.has('PostToolUse') && found.has('UserPromptSubmit');
}

/** The installed Claude Code's version, against the first one whose Stop hook can wake an idle session. */
export function reportClaudeVersion(claude: string, env: Env, report: Report): void {
  const answer = spawnSync(claude, ['--version'], {
    encoding: 'utf8',
    env: env as NodeJS.ProcessEnv,
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const version = /(\d+)\.(\d+)\.(\d+)/.exec(answer.stdout ?? '')?.[0];
  if (version === undefined) {
    report(
      'warn',
      `Could not read the Claude Code version (\`claude --version\`${answer.error ? `: ${answer.error.message}` : ''}); idle sessions are woken from ${ASYNC_REWAKE_SINCE} on.`,
    );
    return;
  }
  if (compareVersions(version, ASYNC_REWAKE_SINCE) >= 0) {
    report(
      'ok',
      `Claude Code ${version} can wake an idle session when a message arrives (from ${ASYNC_REWAKE_SINCE} on).`,
    );
  } else {
    report(
      'warn',
      `Claude Code ${version} is older than ${ASYNC_REWAKE_SINCE}: idle sessions will not be woken; a message waits for the session's next prompt or tool call.`,
      'Update Claude Code: `claude update`, or `npm install -g @anthropic-ai/claude-code`.',
    );
  }
}

/** Compares dotted version numbers part by part. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
