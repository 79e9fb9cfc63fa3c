/**
 * Start-up cost: each command of the bundled dist/ loads only what it needs. The hooks Claude
 * Code runs at every session start, turn and tool call load no zod, Fastify, MCP SDK, SQLite, ws
 * or pino, even when they talk to the broker; the partner no Fastify and no SQLite; the broker no
 * MCP SDK; `duo --version` no dependency at all. Read from the files each process really loaded:
 * a chunk of the bundle stands for the modules dist/bundle-meta.json says went into it.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPILED_ENTRY, COMPILED_HOOKS } from '../../src/shared/entry.ts';
import { freePort, startBroker, tempDir, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';
import { register, talk } from '../helpers/clients.ts';
import { waitFor } from '../helpers/scale.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tracer = new URL('./trace-loads.mjs', import.meta.url).pathname;
const dir = tempDir('duo-startup-');
let traces = 0;

/** What the hooks must never load. */
const NOT_IN_HOOKS = ['zod', 'fastify', '@modelcontextprotocol/sdk', 'better-sqlite3', 'kysely', 'ws', 'pino'];

/** The packages a bundled file holds, by dist/bundle-meta.json. */
function bundledPackages(): Map<string, string[]> {
  const meta = JSON.parse(readFileSync(join(root, 'dist', 'bundle-meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  const byFile = new Map<string, string[]>();
  for (const [output, { inputs }] of Object.entries(meta.outputs)) {
    const names = Object.keys(inputs).map((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1]);
    byFile.set(
      join(root, output),
      names.filter((name): name is string => name !== undefined),
    );
  }
  return byFile;
}

/**
 * The packages a `duo …` process of dist/ loaded (bundled or from node_modules), once `settle` lets
 * it end. Hooks run the entry `duo install` registers for them.
 */
async function packagesLoaded(
  args: string[],
  env: Record<string, string>,
  settle: (child: ReturnType<typeof spawn>) => Promise<void>,
) {
  const traceFile = join(dir, `trace-${++traces}.txt`);
  const entry = args[0] === 'hook' ? COMPILED_HOOKS : COMPILED_ENTRY;
  const child = spawn(process.execPath, ['--import', tracer, entry, ...args], {
    cwd: env.PROJECT ?? dir,
    env: { ...env, TRACE_FILE: traceFile },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await settle(child);
  await exited;
  const bundled = bundledPackages();
  const files = readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:'))
    .map((url) => fileURLToPath(url));
  expect(files, 'the process ran the bundle').toContain(entry);
  const names = files.flatMap((file) => {
    const fromNodeModules = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    return fromNodeModules ? [fromNodeModules] : (bundled.get(file) ?? []);
  });
  const builtins = readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('builtin:'))
    .map((line) => line.slice('builtin:'.length));
  return { packages: [...new Set(names)].sort(), builtins, output };
}

let broker: TestBroker;
let h: CliHome;
let hookEnv: Record<string, string>;

beforeAll(async () => {
  broker = await startBroker();
  h = cliHome(broker.url);
  const project = h.project('alice');
  const registered = await runDuo(['register'], { env: h.env, cwd: project });
  expect(registered.code, registered.stderr).toBe(0);
  const bob = await register(broker.url, 'bob');
  await talk(broker.url, bob, { to: 'alice', content: 'hello from bob' });
  hookEnv = { ...h.env, PROJECT: project };
});

afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(h.home, { recursive: true, force: true });
});

// Claude Code's session ids are UUIDs.
const SESSION_ID = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const hookInput = (event: string) =>
  JSON.stringify({ session_id: SESSION_ID, cwd: hookEnv.PROJECT, hook_event_name: event, tool_name: 'Bash' });

/** Node's own modules a hook has no use for: each costs it milliseconds at every run. */
const BUILTINS_NOT_IN_HOOKS = ['crypto', 'worker_threads', 'fs/promises', 'child_process'];

describe('what each command of the bundle loads', () => {
  it('duo --version loads no dependency', async () => {
    const { packages } = await packagesLoaded(['--version'], h.env, async (child) => void child.stdin!.end());
    expect(packages).toEqual([]);
  });

  it('the SessionStart hook, talking to the broker, loads none of zod, Fastify, the MCP SDK, SQLite, ws or pino', async () => {
    const { packages, builtins, output } = await packagesLoaded(['hook', 'session-start'], hookEnv, async (child) => {
      child.stdin!.end(hookInput('SessionStart'));
    });
    expect(output).toMatch(/alice/);
    expect(output).toMatch(/hello from bob/);
    for (const heavy of NOT_IN_HOOKS) expect(packages).not.toContain(heavy);
    expect(builtins, 'the trace lists built-ins').toContain('http');
    for (const heavy of BUILTINS_NOT_IN_HOOKS) expect(builtins).not.toContain(heavy);
  });

  it('the PostToolUse hook, showing an unread message, loads none of them either', async () => {
    const { packages, builtins, output } = await packagesLoaded(['hook', 'post-tool-use'], hookEnv, async (child) => {
      child.stdin!.end(hookInput('PostToolUse'));
    });
    expect(output).toMatch(/additionalContext.*hello from bob/);
    for (const heavy of NOT_IN_HOOKS) expect(packages).not.toContain(heavy);
    for (const heavy of BUILTINS_NOT_IN_HOOKS) expect(builtins).not.toContain(heavy);
  });

  it('the partner loads the MCP SDK but neither Fastify nor SQLite', async () => {
    const { packages } = await packagesLoaded(
      ['partner'],
      { ...h.env, BROKER_URL: 'http://127.0.0.1:9' },
      async (child) => {
        // Claude Code closing stdin ends the partner.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        child.stdin!.end();
      },
    );
    expect(packages).toContain('@modelcontextprotocol/sdk');
    for (const heavy of ['fastify', '@fastify/websocket', 'better-sqlite3', 'kysely'])
      expect(packages).not.toContain(heavy);
  });

  it('the broker loads Fastify and SQLite but not the MCP SDK', async () => {
    const port = await freePort();
    const { packages } = await packagesLoaded(
      ['broker', '--port', String(port), '--db', join(dir, 'broker.db')],
      h.env,
      async (child) => {
        await waitFor(
          () =>
            fetch(`http://127.0.0.1:${port}/health`).then(
              (r) => r.ok,
              () => false,
            ),
          20_000,
          'the broker',
          50,
        );
        child.kill('SIGTERM');
      },
    );
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'kysely']));
    expect(packages).not.toContain('@modelcontextprotocol/sdk');
  });
});
