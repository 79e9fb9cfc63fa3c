/**
 * Start-up, the cost every Claude Code session pays at every start: how long from spawning an
 * MCP server until `tools/list` is answered, how much memory it then holds while idle, and how
 * long a short command (the SessionStart hook) takes from spawn to exit. Each figure is the
 * median of several fresh processes; the anchors are measured the same way in the same round.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { median } from '../lib/stats.ts';

/** A process to start: node with these arguments, in `cwd`, with exactly `env`. */
export interface Launch {
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin (then closed), for commands that read their input there. */
  input?: string;
}

export interface SpawnResult {
  /** Spawn → `initialize` answered → `tools/list` answered, median. */
  readyMs: number;
  /** Resident memory once idle after `tools/list`, median. */
  rssBytes: number;
  tools: number;
  samples: number;
}

/** After tools/list, how long the server idles before its memory is read. */
const SETTLE_MS = 1_000;

export async function mcpSpawn(launch: Launch, samples: number): Promise<SpawnResult> {
  const ready: number[] = [];
  const rss: number[] = [];
  let tools = 0;
  for (let i = 0; i < samples; i++) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: launch.args,
      cwd: launch.cwd,
      env: launch.env,
      stderr: 'ignore',
    });
    const client = new Client({ name: 'duo-bench', version: '0.0.0' });
    const t0 = performance.now();
    try {
      await client.connect(transport);
      tools = (await client.listTools()).tools.length;
      ready.push(performance.now() - t0);
      await sleep(SETTLE_MS);
      const pid = transport.pid;
      if (pid !== null) rss.push(await rssOf(pid));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return { readyMs: median(ready), rssBytes: median(rss), tools, samples };
}

export interface CommandResult {
  /** Spawn → exit, median. */
  ms: number;
  /** The exit codes seen, for the note (a hook always exits 0). */
  codes: number[];
  samples: number;
}

export async function commandRun(launch: Launch, samples: number): Promise<CommandResult> {
  const times: number[] = [];
  const codes = new Set<number>();
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c ?? -1));
      child.stdin.end(launch.input ?? '');
    });
    times.push(performance.now() - t0);
    codes.add(code);
  }
  return { ms: median(times), codes: [...codes], samples };
}

/** Spawn → `/health` answers 200, median; each server is stopped before the next starts. */
export async function serverStart(launch: Launch, port: number, samples: number): Promise<CommandResult> {
  const times: number[] = [];
  const codes = new Set<number>();
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, launch.args, { cwd: launch.cwd, env: launch.env, stdio: 'ignore' });
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    try {
      for (;;) {
        const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (child.exitCode !== null) throw new Error(`${launch.args.join(' ')} exited with ${child.exitCode}`);
        await sleep(5);
      }
      times.push(performance.now() - t0);
    } finally {
      child.kill('SIGTERM');
      codes.add(await exited);
    }
  }
  return { ms: median(times), codes: [...codes], samples };
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export interface StartupLaunches {
  /** The minimal plain-JavaScript MCP SDK server (bench/anchors/mcp-stdio.mjs). */
  sdkServer: Launch;
  /** `duo partner`, compiled, as Claude Code spawns it. */
  partner: Launch;
  /** `node -e ""`: what starting node at all costs. */
  bareNode: Launch;
  /** `duo hook session-start` as `duo install` registers it (the hooks' entry), with the hook input Claude Code sends. */
  hook: Launch;
  /** `duo register` in the hook's project: the hook then does all it does in a real session. */
  register: Launch;
  /** The minimal Fastify server (bench/anchors/fastify-health.mjs) on `port`. */
  fastify: (port: number) => Launch;
  /** `duo broker`, compiled, on `port`, over one database kept across its starts. */
  broker: (port: number) => Launch;
}

/**
 * What the start-up rows run: the compiled entry in dist/ (what users run, never the sources
 * through a loader), in a project of its own under `dir`, talking to the broker at `brokerUrl`.
 */
export function startupLaunches(root: string, dir: string, brokerUrl: string): StartupLaunches {
  const home = join(dir, 'startup-home');
  const project = join(home, 'project');
  mkdirSync(project, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    BROKER_URL: brokerUrl,
    DUO_AUTOSTART: '0',
    DUO_LOG_LEVEL: 'warn',
  };
  const entry = join(root, 'dist', 'src', 'cli', 'main.js');
  const brokerEnv = { ...env, DUO_LOG_LEVEL: 'silent', DUO_OWNER_TOKEN_FILE: join(home, 'broker-owner-token') };
  return {
    sdkServer: { args: [join(root, 'bench', 'anchors', 'mcp-stdio.mjs')], cwd: project, env },
    partner: { args: [entry, 'partner'], cwd: project, env },
    bareNode: { args: ['-e', ''], cwd: project, env },
    hook: {
      args: [join(root, 'dist', 'src', 'cli', 'hook.cjs'), 'hook', 'session-start'],
      cwd: project,
      env,
      input: JSON.stringify({ session_id: 'bench', cwd: project, hook_event_name: 'SessionStart', source: 'startup' }),
    },
    register: { args: [entry, 'register'], cwd: project, env },
    fastify: (port) => ({
      args: [join(root, 'bench', 'anchors', 'fastify-health.mjs'), String(port)],
      cwd: project,
      env,
    }),
    broker: (port) => ({
      args: [entry, 'broker', '--port', String(port), '--db', join(home, 'broker.db')],
      cwd: project,
      env: brokerEnv,
    }),
  };
}

/** Bundles the sources into dist/ (esbuild: a second or two). */
export function buildDist(root: string): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}
