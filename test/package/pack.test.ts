/**
 * The package as users get it: `npm pack`, then `npm install -g` of the tarball into an empty
 * prefix, then the installed `duo` in an empty HOME with nothing else on PATH: --version, demo,
 * broker, install, and the round trip through the real Claude Code. The pack and the install
 * (with the binding the clone compiled, see betterSqlitePrebuild) happen once for the whole file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/broker.ts';
import { figure, waitFor } from '../helpers/scale.ts';
import { claudeRoundTrip } from './claude-flow.ts';
import { ownerTokenPath } from '../../src/shared/owner-token.ts';
import {
  claudeCode,
  cleanHome,
  packAndInstall,
  run,
  VERSION,
  type ClaudeCode,
  type CleanHome,
  type PackedInstall,
} from './tools.ts';

describe('the packed package, installed with npm install -g into a clean prefix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duo-pack-'));
  const homes: CleanHome[] = [];
  let installed: PackedInstall;
  let claude: ClaudeCode;

  const home = (extraBins: string[] = []) => {
    const made = cleanHome([join(installed.prefix, 'bin'), ...extraBins]);
    homes.push(made);
    return made;
  };
  const duo = (args: string[], h: CleanHome, timeoutMs = 60_000) =>
    run(installed.duo, args, { env: h.env, cwd: h.project, timeoutMs });

  beforeAll(async () => {
    [installed, claude] = await Promise.all([packAndInstall(dir), claudeCode()]);
    figure('pack and install', {
      packMs: installed.ms.pack,
      installMs: installed.ms.install,
      claudeCode: 'skip' in claude ? `skipped: ${claude.skip}` : `${claude.installMs} ms`,
    });
  }, 900_000);

  afterAll(async () => {
    // A broker a test started on demand must not outlive the test run.
    for (const h of homes) await duo(['broker', 'stop'], h).catch(() => undefined);
    for (const h of homes) rmSync(h.home, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('ships the bundles with their source maps, the console, the README, docs/ and the bundled licences; no TypeScript, no tsx, no bundled dependency', async () => {
    const listing = await run('tar', ['tzf', installed.tarball], { env: { PATH: '/usr/bin:/bin' }, cwd: dir });
    const files = listing.stdout.trim().split('\n');
    expect(files).toContain('package/dist/src/cli/main.js');
    expect(files).toContain('package/dist/src/cli/hook.cjs');
    expect(files).toContain('package/dist/src/cli/hooks.cjs');
    expect(files).toContain('package/dist/THIRD-PARTY-LICENSES.txt');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/docs/protocol.md');
    expect(files).toContain('package/dist/web/index.html');
    expect(
      files.filter(
        (file) =>
          !/^package\/(dist\/src\/cli\/(chunks\/)?[\w-]+\.c?js(\.map)?|dist\/web\/[\w.-]+\.(html|js|css|svg)|dist\/THIRD-PARTY-LICENSES\.txt|package\.json|README\.md|docs\/[\w-]+\.md)$/.test(
            file,
          ),
      ),
    ).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(installed.packageDir, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ duo: 'dist/src/cli/main.js' });
    // Everything else is inside the bundles: only native and optional modules are installed.
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['better-sqlite3', 'pg']);
    const tsx = await run(process.execPath, ['-e', 'require.resolve("tsx")'], {
      env: { PATH: '' },
      cwd: installed.packageDir,
    });
    expect(tsx.code).not.toBe(0);
  });

  it('duo --version answers with the package version, in a clean HOME', async () => {
    const result = await duo(['--version'], home());
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
  });

  it('duo demo runs a broker and two partners from the installed package', async () => {
    const result = await duo(['demo'], home(), 90_000);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/Done in/);
  }, 120_000);

  it('duo broker runs its bundled migrations, answers /health and stops on SIGTERM', async () => {
    const h = home();
    const port = await freePort();
    const child = spawn(installed.duo, ['broker', '--port', String(port)], {
      env: h.env,
      cwd: h.project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const health = async () =>
      fetch(`http://127.0.0.1:${port}/health`).then(
        async (r) => (r.ok ? ((await r.json()) as { version: string }) : undefined),
        () => undefined,
      );
    await waitFor(async () => (await health()) !== undefined, 20_000, `the broker on ${port}: ${output}`);
    expect((await health())?.version).toBe(VERSION);
    // A new id needs the owner token, which the broker wrote into this user's config folder.
    const registerWith = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${port}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ partnerId: 'pkg' }),
      });
    expect((await registerWith({})).status, output).toBe(401);
    const ownerToken = readFileSync(ownerTokenPath(h.env), 'utf8').trim();
    expect((await registerWith({ 'x-duo-token': ownerToken })).status, output).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('duo install --yes registers the installed compiled entry, and its hook commands run', async () => {
    const h = home();
    const entry = join(installed.packageDir, 'dist', 'src', 'cli', 'main.js');
    const hooksEntry = join(installed.packageDir, 'dist', 'src', 'cli', 'hook.cjs');
    const result = await duo(['install', '--yes', '--broker', 'http://127.0.0.1:9'], h);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain(
      `claude mcp add-json duo '{"type":"stdio","command":"node","args":["${entry}","partner"],"env":{"BROKER_URL":"http://127.0.0.1:9"},"alwaysLoad":true}' -s user`,
    );
    expect(result.stdout).toMatch(/claude command is not on PATH/);
    const settings = JSON.parse(readFileSync(join(h.home, '.claude', 'settings.json'), 'utf8'));
    const hook: string = settings.hooks.SessionStart[0].hooks[0].command;
    expect(hook).toBe(`node ${hooksEntry} hook session-start --broker http://127.0.0.1:9`);
    const ran = await run('/bin/sh', ['-c', hook], {
      env: { ...h.env, DUO_AUTOSTART: '0' },
      cwd: h.project,
      input: JSON.stringify({ session_id: 's', cwd: h.project, hook_event_name: 'SessionStart', source: 'startup' }),
    });
    expect(ran.code, ran.output).toBe(0);
    expect(ran.stdout).toMatch(/^Claude Duo: /);
  });

  it('with the real Claude Code: install, claude mcp list shows duo Connected, claude mcp get agrees with doctor', async (ctx) => {
    if ('skip' in claude) return ctx.skip(claude.skip);
    const h = home([claude.binDir]);
    const figures = await claudeRoundTrip({
      duo,
      claude: claude.claude,
      home: h,
      brokerUrl: `http://127.0.0.1:${await freePort()}`,
      entry: join(installed.packageDir, 'dist', 'src', 'cli', 'main.js'),
    });
    figure('real Claude Code, packed install', figures);
  }, 180_000);
});
