/**
 * What the package tests need from outside the repository: npm (pack, a global install into a
 * temporary prefix), the real Claude Code command line (a pinned version, installed once into a
 * cache directory under the system temp folder), and clean homes to run them in.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

/** The oldest Claude Code the project supports (and the one the package tests run against). */
export const CLAUDE_CODE_VERSION = '2.1.197';
/** The newest Claude Code the scenario tests were checked with. */
export const CLAUDE_CODE_LATEST = '2.1.332';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, for failure messages. */
  output: string;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd: string;
  timeoutMs?: number;
  input?: string;
}

/** Runs a command to completion (killed after the timeout) and collects what it printed. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({
        code: null,
        stdout,
        stderr: `${stderr}${error.message}`,
        output: `${stdout}${stderr}${error.message}`,
      });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * The environment npm runs with: this process's (the npm cache, the registry's certificates)
 * without the variables `npm test` sets for its own script, which would leak into a nested npm.
 * `npm_config_nodedir` stays: it names the headers of the Node these tests run on (CI sets it for
 * each Node it tests), and without it better-sqlite3 would compile against whatever Node the
 * user's npmrc names.
 */
export function npmEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (!/^npm_/i.test(key) || key.toLowerCase() === 'npm_config_nodedir')) env[key] = value;
  }
  // node-gyp builds better-sqlite3 on every core.
  env.JOBS = 'max';
  return env;
}

export interface PackedInstall {
  tarball: string;
  prefix: string;
  /** The installed `duo` bin. */
  duo: string;
  /** The installed package's folder. */
  packageDir: string;
  ms: { pack: number; install: number };
}

/** `npm pack` of this repository, then `npm install -g` of the tarball into a fresh prefix. */
export async function packAndInstall(dir: string): Promise<PackedInstall> {
  const env = npmEnv();
  let started = Date.now();
  // Without prepack's build: the test run built dist/ from these sources already, and building it
  // again in place would pull it from under the test files that run beside this one.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {
    env,
    cwd: ROOT,
    timeoutMs: 180_000,
  });
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.output}`);
  const tarball = join(dir, pack.stdout.trim().split('\n').pop()!);
  const packMs = Date.now() - started;
  const prefix = join(dir, 'prefix');
  const prebuilds = await betterSqlitePrebuild(dir);
  started = Date.now();
  const install = await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      // npm 11 runs no dependency install script unless allowed; better-sqlite3 builds its binding in one.
      '--allow-scripts=better-sqlite3',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
    ],
    { env: { ...env, npm_config_better_sqlite3_local_prebuilds: prebuilds }, cwd: dir, timeoutMs: 540_000 },
  );
  if (install.code !== 0) throw new Error(`npm install -g ${tarball} failed:\n${install.output}`);
  return {
    tarball,
    prefix,
    duo: join(prefix, 'bin', 'duo'),
    packageDir: join(prefix, 'lib', 'node_modules', 'claude-duo'),
    ms: { pack: packMs, install: Date.now() - started },
  };
}

/**
 * better-sqlite3's install script (prebuild-install) looks for a prebuilt binding in a local
 * folder first, then downloads one from GitHub (users get theirs that way), and only then compiles
 * SQLite from source. GitHub is out of reach here, so every install compiled for minutes; instead
 * the binding this clone's `npm ci` compiled (same version, same Node) goes into that folder,
 * named as the download is, and prebuild-install loads it once to check it. `npm ci` keeps
 * testing the compile. Returns the folder.
 */
async function betterSqlitePrebuild(dir: string): Promise<string> {
  const moduleDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(moduleDir, 'package.json'), 'utf8')) as { version: string };
  const folder = join(dir, 'prebuilds');
  mkdirSync(folder, { recursive: true });
  const archive = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tar = await run('tar', ['czf', join(folder, archive), 'build/Release/better_sqlite3.node'], {
    env: { PATH: '/usr/bin:/bin' },
    cwd: moduleDir,
  });
  if (tar.code !== 0) throw new Error(`could not pack better-sqlite3's binding:\n${tar.output}`);
  return folder;
}

export type ClaudeCode = { claude: string; binDir: string; installMs: number } | { skip: string };

/**
 * A pinned Claude Code CLI, installed from the npm registry into a cache directory the first
 * time (seconds; its native binary comes inside the package). When that fails, the reason is
 * returned so the tests that need it skip and say why; with DUO_REQUIRE_CLAUDE_CODE=1 (CI) that
 * is a failure instead.
 */
export async function claudeCode(version = CLAUDE_CODE_VERSION): Promise<ClaudeCode> {
  const found = await installClaudeCode(version);
  if ('skip' in found && process.env.DUO_REQUIRE_CLAUDE_CODE === '1')
    throw new Error(`${found.skip}, and DUO_REQUIRE_CLAUDE_CODE=1`);
  return found;
}

async function installClaudeCode(version: string): Promise<ClaudeCode> {
  const cache = join(tmpdir(), 'claude-duo-test-cache', `claude-code-${version}`);
  const binDir = join(cache, 'node_modules', '.bin');
  const claude = join(binDir, 'claude');
  const started = Date.now();
  if (!existsSync(claude)) {
    mkdirSync(dirname(cache), { recursive: true });
    // Installed beside the cache and moved into place, so two runs never see half an install.
    const staging = mkdtempSync(`${cache}.staging-`);
    const install = await run(
      'npm',
      [
        'install',
        '--prefix',
        staging,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        `@anthropic-ai/claude-code@${version}`,
      ],
      { env: npmEnv(), cwd: dirname(cache), timeoutMs: 300_000 },
    );
    if (install.code !== 0) {
      rmSync(staging, { recursive: true, force: true });
      return {
        skip: `could not install @anthropic-ai/claude-code@${version}: ${lastLines(install.output)}`,
      };
    }
    try {
      renameSync(staging, cache);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run won the race
    }
  }
  const answer = await run(claude, ['--version'], { env: { PATH: process.env.PATH ?? '' }, cwd: tmpdir() });
  if (answer.code !== 0 || !answer.stdout.includes(version))
    return { skip: `claude --version did not answer ${version}: ${lastLines(answer.output)}` };
  return { claude, binDir, installMs: Date.now() - started };
}

export interface CleanHome {
  home: string;
  project: string;
  env: Record<string, string>;
}

/**
 * A new, empty HOME with XDG folders and a project, and an environment holding nothing of the
 * user's: PATH is `binDirs` plus node's folder and the system's. Claude Code is told to stay
 * offline (no API key exists; the model is never called).
 */
export function cleanHome(binDirs: string[], extra: Record<string, string> = {}, projectName = 'shop'): CleanHome {
  const home = mkdtempSync(join(tmpdir(), 'duo-pkg-home-'));
  const project = join(home, 'projects', projectName);
  mkdirSync(project, { recursive: true });
  const env: Record<string, string> = {
    PATH: [...binDirs, dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...extra,
  };
  return { home, project, env };
}

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
