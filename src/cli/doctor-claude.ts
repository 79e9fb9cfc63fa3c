/**
 * The Claude Code half of `duo doctor`: which duo server Claude Code really runs in this project
 * (asking `claude mcp get duo` when claude is installed, else reading its files with its
 * precedence), whether it waits for approval, and what environment it gives the partner, so the
 * rest of the doctor checks the broker that partner really uses.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { splitBrokerUrls } from '../client/endpoint.ts';
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
