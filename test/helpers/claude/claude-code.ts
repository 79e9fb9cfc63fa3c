/**
 * The real Claude Code binary as a test driver: a version installed from the npm registry (cached
 * under the system temp folder), a clean home with `duo install` run from this clone against the
 * test's broker, and two ways to run it against the fake Messages API (fake-api.ts):
 *
 * - headless: `claude -p … --output-format stream-json --verbose` (headless.ts);
 * - interactive: the TUI inside its own tmux server (interactive.ts), with ~/.claude.json
 *   pre-written so no first-run screen appears, and `--debug-file` telling when the duo server
 *   connected.
 *
 * Every process started here is tracked: `killAll()` ends a home's runs (after each test) and
 * `ClaudeHome.stopAll()` (after a file) ends them all and removes the homes, so nothing outlives a
 * test file.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretStore } from '../../../src/client/secrets.ts';
import { COMPILED_ENTRY } from '../../../src/shared/entry.ts';
import { secretsFilePath } from '../../../src/shared/paths.ts';
import { claudeCode, cleanHome, type CleanHome } from '../../package/tools.ts';
import { runDuo } from '../cli.ts';
import { RestPartner } from '../clients.ts';
import { ownerTokenEnv } from '../owner-tokens.ts';
import type { FakeApi } from './fake-api.ts';
import { Headless } from './headless.ts';
import { Interactive, killOnExit } from './interactive.ts';

export { CLAUDE_CODE_LATEST, CLAUDE_CODE_VERSION as CLAUDE_CODE_OLDEST } from '../../package/tools.ts';

/** Any key works with the fake API; its last 20 characters are pre-approved in ~/.claude.json. */
export const FAKE_API_KEY = 'sk-ant-api03-duo-test-fake-key-0123456789abcdefghij';

/** The Claude Code binary of one version, or why the tests that need it skip. */
export type Binary = { version: string; claude: string; binDir: string } | { version: string; skip: string };

const binaries = new Map<string, Promise<Binary>>();

/** Installs (once per process) and returns Claude Code `version`; a failure is a skip unless CI requires it. */
export function claudeBinary(version: string): Promise<Binary> {
  let found = binaries.get(version);
  if (!found) {
    found = claudeCode(version).then((c) => ('skip' in c ? { version, skip: c.skip } : { version, ...c }));
    binaries.set(version, found);
  }
  return found;
}

/** Why tmux-driven tests cannot run here, or undefined. Under DUO_REQUIRE_CLAUDE_CODE=1 its absence fails. */
export function tmuxSkipReason(): string | undefined {
  const probe = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const reason = 'tmux is missing (apt-get install -y tmux; .ci/run installs it)';
  if (process.env.DUO_REQUIRE_CLAUDE_CODE === '1') throw new Error(`${reason}, and DUO_REQUIRE_CLAUDE_CODE=1`);
  return reason;
}

export interface HomeOptions {
  brokerUrl: string;
  /** More environment for Claude Code (and so for the partner and hooks it runs). */
  env?: Record<string, string>;
  /** Skip `duo install`'s hooks (`--no-hooks`). */
  noHooks?: boolean;
}

export interface RunOptions {
  /** The fake Messages API this run talks to. */
  api: FakeApi;
  /** More command-line arguments for `claude`. */
  args?: string[];
  /** More environment for this run. */
  env?: Record<string, string>;
}

let tmuxSockets = 0;

/**
 * One user of Claude Code: a clean home where `duo install --yes --broker <url>` (from this
 * clone) added the partner and the hooks in user scope, so every project folder of the home
 * runs them; each project is a partner of its own (its folder name is its id).
 */
export class ClaudeHome {
  private static readonly live = new Set<ClaudeHome>();
  readonly home: CleanHome;
  private readonly children = new Set<ChildProcessWithoutNullStreams>();
  private readonly sessions = new Set<Interactive>();

  private constructor(
    readonly binary: { version: string; claude: string; binDir: string },
    readonly options: HomeOptions,
  ) {
    this.home = cleanHome([binary.binDir], {
      ANTHROPIC_API_KEY: FAKE_API_KEY,
      // `claude -p` otherwise starts without an MCP server that takes over ~2 s to connect.
      MCP_CONNECTION_NONBLOCKING: '0',
      // Defer MCP tools behind ToolSearch as against Anthropic's API (older versions turn it off
      // for a base URL that is not Anthropic's), so the tools are offered as users see them.
      ENABLE_TOOL_SEARCH: 'true',
      DUO_AUTOSTART: '0',
      DUO_LOG_LEVEL: 'warn',
      // For the `duo` commands a test runs in this home; Claude Code's partner and hooks get the
      // broker from what `duo install` wrote.
      BROKER_URL: options.brokerUrl,
      TERM: 'xterm-256color',
      ...ownerTokenEnv(options.brokerUrl),
      ...options.env,
    });
    ClaudeHome.live.add(this);
  }

  /** A home with duo installed; throws with duo's output when the install fails. */
  static async create(binary: Binary, options: HomeOptions): Promise<ClaudeHome> {
    if ('skip' in binary) throw new Error(binary.skip);
    const made = new ClaudeHome(binary, options);
    const args = ['install', '--yes', '--broker', options.brokerUrl];
    if (options.noHooks) args.push('--no-hooks');
    const install = await made.duo(args);
    if (install.code !== 0)
      throw new Error(`duo install failed (${install.code}):\n${install.stdout}\n${install.stderr}`);
    if (!install.stdout.includes(COMPILED_ENTRY)) throw new Error(`duo install did not register ${COMPILED_ENTRY}`);
    return made;
  }

  /** Kills every Claude Code and tmux server of every home still alive, and removes the homes (afterAll). */
  static async stopAll(): Promise<void> {
    await Promise.all([...ClaudeHome.live].map((home) => home.stop()));
  }

  get version(): string {
    return this.binary.version;
  }

  /** `duo …` from this clone, in `cwd` (the home's first project by default). */
  duo(args: string[], cwd = this.home.project) {
    return runDuo(args, { env: this.home.env, cwd, timeoutMs: 60_000 });
  }

  /** A project folder of this home, trusted in ~/.claude.json; its partner's id is `name`. */
  project(name: string): Project {
    const dir = join(this.home.home, 'projects', name);
    mkdirSync(dir, { recursive: true });
    this.trust(dir);
    return new Project(this, name, dir);
  }

  /**
   * ~/.claude.json as a user who finished onboarding, trusted the project and approved the API key
   * would have it, merged into what `claude mcp add` wrote there.
   */
  private trust(dir: string): void {
    const file = join(this.home.home, '.claude.json');
    const json = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>) : {};
    json.hasCompletedOnboarding = true;
    json.theme = 'dark';
    json.customApiKeyResponses = { approved: [FAKE_API_KEY.slice(-20)], rejected: [] };
    json.projects ??= {};
    json.projects[dir] = { ...json.projects[dir], hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true };
    writeFileSync(file, JSON.stringify(json, null, 2));
  }

  /** @internal Spawns `claude` in `cwd` and tracks it. */
  spawnClaude(cwd: string, args: string[], run: RunOptions): ChildProcessWithoutNullStreams {
    const child = spawn(this.binary.claude, args, {
      cwd,
      env: this.runEnv(run),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    this.children.add(child);
    child.once('close', () => this.children.delete(child));
    return child;
  }

  /** @internal Starts `claude` in a tmux server of its own and tracks it. */
  startTmux(cwd: string, args: string[], run: RunOptions): Interactive {
    const socket = `duo-test-${process.pid}-${++tmuxSockets}`;
    const debugFile = join(this.home.home, `claude-debug-${tmuxSockets}.log`);
    const env = this.runEnv(run);
    // exec: the pane's process is Claude Code itself, so `kill()` can wait for it to end.
    const command = `exec ${[this.binary.claude, '--debug-file', debugFile, ...args].map(shellQuote).join(' ')}`;
    const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    const started = spawnSync(
      'tmux',
      ['-L', socket, 'new-session', '-d', '-x', '200', '-y', '50', '-c', cwd, ...envArgs, command],
      { env: { ...env, TMUX: '' }, encoding: 'utf8' },
    );
    if (started.status !== 0) throw new Error(`tmux new-session failed: ${started.stderr}`);
    killOnExit(socket);
    const session = new Interactive(socket, debugFile, env, () => this.sessions.delete(session));
    this.sessions.add(session);
    return session;
  }

  private runEnv(run: RunOptions): Record<string, string> {
    return { ...this.home.env, ANTHROPIC_BASE_URL: run.api.url, ...run.env };
  }

  /** Kills every Claude Code this home runs (between tests). */
  async killAll(): Promise<void> {
    const exited = [...this.children].map((child) => new Promise((resolve) => child.once('close', resolve)));
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all([...exited, ...[...this.sessions].map((session) => session.kill())]);
  }

  /** Kills what this home started, and removes the home. */
  async stop(): Promise<void> {
    await this.killAll();
    ClaudeHome.live.delete(this);
    rmSync(this.home.home, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** One project folder of a home: a partner of its own, and where Claude Code is started. */
export class Project {
  constructor(
    readonly home: ClaudeHome,
    readonly name: string,
    readonly dir: string,
  ) {}

  /**
   * This project's partner acting over REST with the secret its Claude Code's partner registered
   * (to read its unread counts, or to send as it); throws until that partner has registered.
   */
  rest(): RestPartner {
    const { brokerUrl } = this.home.options;
    const store = new SecretStore(secretsFilePath(this.home.home.env));
    const id = store.getProjectPartner(brokerUrl, this.dir) ?? this.name;
    const secret = store.getSecret(brokerUrl, id);
    if (secret === undefined) throw new Error(`the partner of ${this.dir} has not registered with ${brokerUrl} yet`);
    return RestPartner.as(brokerUrl, { partnerId: id, secret });
  }

  /** `claude -p <prompt>` in stream-json with duo's tools allowed, started now. */
  headless(prompt: string, run: RunOptions): Headless {
    const args = [
      '-p',
      prompt,
      '--output-format',
      'stream-json',
      '--verbose',
      '--allowedTools',
      'mcp__duo__*',
      ...(run.args ?? []),
    ];
    return new Headless(this.home.spawnClaude(this.dir, args, run));
  }

  /** The interactive TUI in a tmux server of its own; resolves once the duo server connected. */
  async interactive(run: RunOptions, timeoutMs = 30_000): Promise<Interactive> {
    const session = this.home.startTmux(this.dir, ['--allowedTools', 'mcp__duo__*', ...(run.args ?? [])], run);
    try {
      await session.waitForDebug(/MCP server "duo": Successfully connected/, timeoutMs);
    } catch (error) {
      await session.kill();
      throw error;
    }
    return session;
  }
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
