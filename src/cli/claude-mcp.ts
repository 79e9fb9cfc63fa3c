/**
 * Which `duo` MCP server Claude Code really runs for a project. It can be configured in three
 * scopes: local (`~/.claude.json`, under `projects["<folder>"]`), project (`<folder>/.mcp.json`,
 * shared through the repository) and user (`~/.claude.json`). For one name, Claude Code uses the
 * local entry, else the project entry once it is approved, else the user entry. A project entry
 * nobody approved yet is not started at all (`claude mcp list` shows it as "Pending approval").
 *
 * Approvals live in settings files: `enabledMcpjsonServers` / `enableAllProjectMcpServers` /
 * `disabledMcpjsonServers` in `~/.claude/settings.json`, and, once the folder is trusted, in the
 * project's `.claude/settings.json` and `.claude/settings.local.json`. When `claude` is installed,
 * `claude mcp get duo` is the authority; these files are the fallback.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { DUO_COMMAND, homeDir, readJsonObject } from './claude-code.ts';
import type { Env } from './command.ts';

export type McpScope = 'user' | 'local' | 'project';
export type Approval = 'approved' | 'pending' | 'rejected';

export interface McpEntry {
  /** Where it was found, for messages: a file, plus the project key for local scope. */
  where: string;
  scope: McpScope;
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Project scope only: whether Claude Code may start it. */
  approval?: Approval;
}

/** Claude Code's order among entries of the same name. */
const PRECEDENCE: readonly McpScope[] = ['local', 'project', 'user'];

/** Whether an MCP server entry runs the duo partner (by name, or by its command line). */
export function isDuoServer(name: string, command: string, args: readonly string[]): boolean {
  const line = [command, ...args].join(' ');
  return name === 'duo' || new RegExp(`${DUO_COMMAND}.*\\bpartner\\b`).test(line) || /partner\/bin\.ts\b/.test(line);
}

/** Every duo partner entry Claude Code would see for `projectDir`, in local, project, user order. */
export function findDuoServers(env: Env, projectDir: string): McpEntry[] {
  const found: McpEntry[] = [];
  const collect = (servers: unknown, where: string, scope: McpScope) => {
    if (typeof servers !== 'object' || servers === null) return;
    for (const [name, raw] of Object.entries(servers as Record<string, unknown>)) {
      const server = raw as { command?: unknown; args?: unknown; env?: unknown };
      const command = typeof server?.command === 'string' ? server.command : '';
      const args = Array.isArray(server?.args) ? server.args.filter((a): a is string => typeof a === 'string') : [];
      if (!isDuoServer(name, command, args)) continue;
      const serverEnv =
        typeof server?.env === 'object' && server.env !== null ? (server.env as Record<string, string>) : {};
      const approval = scope === 'project' ? projectApproval(env, projectDir, name) : undefined;
      found.push({ where, scope, name, command, args, env: serverEnv, ...(approval ? { approval } : {}) });
    }
  };
  const claudeJson = join(homeDir(env), '.claude.json');
  const user = safeRead(claudeJson);
  const projects = user.projects as Record<string, { mcpServers?: unknown }> | undefined;
  collect(projects?.[projectDir]?.mcpServers, `${claudeJson} (projects["${projectDir}"])`, 'local');
  const mcpJson = join(projectDir, '.mcp.json');
  collect(safeRead(mcpJson).mcpServers, mcpJson, 'project');
  collect(user.mcpServers, claudeJson, 'user');
  return found;
}

/**
 * The entry Claude Code runs: for the name `duo` (else the first duo-like name), the local one,
 * else an approved project one, else the user one. Undefined when none would run.
 */
export function duoServerInUse(entries: readonly McpEntry[]): McpEntry | undefined {
  const runnable = entries.filter((entry) => entry.scope !== 'project' || entry.approval === 'approved');
  const name = runnable.some((entry) => entry.name === 'duo') ? 'duo' : runnable[0]?.name;
  return runnable
    .filter((entry) => entry.name === name)
    .sort((a, b) => PRECEDENCE.indexOf(a.scope) - PRECEDENCE.indexOf(b.scope))[0];
}

/** Whether Claude Code may start the `.mcp.json` server `name` in `projectDir`. */
export function projectApproval(env: Env, projectDir: string, name: string): Approval {
  const home = homeDir(env);
  const claudeJson = safeRead(join(home, '.claude.json'));
  const projects = (claudeJson.projects ?? {}) as Record<string, Record<string, unknown> | undefined>;
  // Settings inside the project count only once its folder (or one above it) is trusted.
  let trusted = false;
  for (let dir = projectDir; ; dir = dirname(dir)) {
    if (projects[dir]?.hasTrustDialogAccepted === true) trusted = true;
    if (trusted || dirname(dir) === dir) break;
  }
  const sources = [safeRead(join(home, '.claude', 'settings.json'))];
  if (trusted)
    sources.push(
      safeRead(join(projectDir, '.claude', 'settings.json')),
      safeRead(join(projectDir, '.claude', 'settings.local.json')),
      projects[projectDir] ?? {},
    );
  const lists = (key: string) => sources.some((s) => Array.isArray(s[key]) && (s[key] as unknown[]).includes(name));
  if (lists('disabledMcpjsonServers')) return 'rejected';
  if (lists('enabledMcpjsonServers') || sources.some((s) => s.enableAllProjectMcpServers === true)) return 'approved';
  return 'pending';
}

/** How to approve a pending project server, in words. */
export const APPROVE_HOW =
  'Start `claude` in this folder and answer "Use this MCP server" when it asks about duo (or add "duo" to "enabledMcpjsonServers" in ~/.claude/settings.json)';

/** What `claude mcp get <name>` reports. */
export interface ClaudeAnswer {
  scope: McpScope;
  /** "✔ Connected", "⏸ Pending approval (…)", "✘ Failed to connect", … */
  status: string;
  env: Record<string, string>;
}

/**
 * Asks the installed Claude Code: `unknown` when it has no server of that name, `unreadable`
 * when it could not be run or its answer has no recognisable scope. Its health check starts our
 * partner, so autostart is turned off for that run: a check must not start a broker.
 */
export function askClaude(
  claude: string,
  name: string,
  env: Env,
  projectDir: string,
): ClaudeAnswer | 'unknown' | 'unreadable' {
  const result = spawnSync(claude, ['mcp', 'get', name], {
    cwd: projectDir,
    env: { ...env, DUO_AUTOSTART: '0' } as NodeJS.ProcessEnv,
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error) return 'unreadable';
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status !== 0) return /No MCP server named/i.test(text) || text.trim() === '' ? 'unknown' : 'unreadable';
  return parseClaudeAnswer(text) ?? 'unreadable';
}

/** Reads the Scope, Status and Environment lines of `claude mcp get`. */
export function parseClaudeAnswer(text: string): ClaudeAnswer | undefined {
  const scopeWord = /^\s*Scope:\s*(Local|Project|User)\b/im.exec(text)?.[1]?.toLowerCase();
  if (scopeWord === undefined) return undefined;
  const status = /^\s*Status:\s*(.+)$/im.exec(text)?.[1]?.trim() ?? '';
  const env: Record<string, string> = {};
  const block = /^\s*Environment:\s*\n((?:[ \t]+\S.*\n?)*)/im.exec(text)?.[1] ?? '';
  for (const line of block.split('\n')) {
    const match = /^\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return { scope: scopeWord as McpScope, status, env };
}

function safeRead(file: string): Record<string, unknown> {
  try {
    return readJsonObject(file);
  } catch {
    return {};
  }
}
