/**
 * Start-up cost: each command loads only what it needs. The hook Claude Code runs at every
 * session start loads neither Fastify nor the MCP SDK, the partner no Fastify and no SQLite,
 * the broker no MCP SDK, and `duo --version` no dependency at all. Read from the module URLs
 * each process really loaded.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { duoArgs } from '../../src/shared/entry.ts';
import { freePort } from '../helpers/broker.ts';
import { waitFor } from '../helpers/scale.ts';

const tracer = new URL('./trace-loads.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'duo-startup-'));
let traces = 0;
/** The TypeScript loader the tests run the sources with, and what it loads itself. */
const LOADER = /^(tsx|esbuild|@esbuild\/.*|get-tsconfig|resolve-pkg-maps)$/;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packages (node_modules/<name>) a `duo …` process loaded, once `settle` lets it end. */
async function packagesLoaded(args: string[], settle: (child: ReturnType<typeof spawn>) => Promise<void>) {
  const traceFile = join(dir, `trace-${++traces}.txt`);
  const home = join(dir, `home-${traces}`);
  const child = spawn(process.execPath, ['--import', tracer, ...duoArgs(...args)], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      DUO_AUTOSTART: '0',
      DUO_LOG_LEVEL: 'silent',
      BROKER_URL: 'http://127.0.0.1:9',
      TRACE_FILE: traceFile,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await settle(child);
  await exited;
  const urls = readFileSync(traceFile, 'utf8').split('\n');
  const names = urls
    .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
    .filter((name): name is string => name !== undefined && !LOADER.test(name));
  return { packages: [...new Set(names)].sort(), output };
}

describe('what each command loads', () => {
  it('duo --version loads no dependency', async () => {
    const { packages } = await packagesLoaded(['--version'], async (child) => void child.stdin!.end());
    expect(packages).toEqual([]);
  });

  it('the SessionStart hook loads neither Fastify, nor the MCP SDK, nor SQLite', async () => {
    const { packages, output } = await packagesLoaded(['hook', 'session-start'], async (child) => {
      child.stdin!.end(JSON.stringify({ session_id: 's', cwd: dir, hook_event_name: 'SessionStart' }));
    });
    expect(output).toMatch(/^Claude Duo: /);
    for (const heavy of ['fastify', '@fastify/websocket', '@modelcontextprotocol/sdk', 'better-sqlite3', 'kysely'])
      expect(packages).not.toContain(heavy);
  });

  it('the partner loads the MCP SDK but neither Fastify nor SQLite', async () => {
    const { packages } = await packagesLoaded(['partner'], async (child) => {
      // Claude Code closing stdin ends the partner.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      child.stdin!.end();
    });
    expect(packages).toContain('@modelcontextprotocol/sdk');
    for (const heavy of ['fastify', '@fastify/websocket', 'better-sqlite3', 'kysely'])
      expect(packages).not.toContain(heavy);
  });

  it('the broker loads Fastify and SQLite but not the MCP SDK', async () => {
    const port = await freePort();
    const { packages } = await packagesLoaded(
      ['broker', '--port', String(port), '--db', join(dir, 'broker.db')],
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
