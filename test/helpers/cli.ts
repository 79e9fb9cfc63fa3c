/**
 * The real `duo` command line as a child process, run from the TypeScript sources (so what is
 * tested is the code, never a stale build), with HOME and the XDG directories in a temporary
 * folder so nothing of the user's is read or written. Autostart is off: a test that wants a
 * broker starts one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { SecretStore } from '../../src/client/secrets.ts';
import { COMPILED_ENTRY, COMPILED_HOOKS, duoArgs } from '../../src/shared/entry.ts';
import { secretsFilePath } from '../../src/shared/paths.ts';
import { tempDir } from './broker.ts';
import { ownerTokenEnv } from './owner-tokens.ts';

/** The compiled entry `duo install` registers with Claude Code. */
export const DUO_BIN = COMPILED_ENTRY;
/** The hooks' own compiled entry, which `duo install` registers for the hooks. */
export const DUO_HOOKS_BIN = COMPILED_HOOKS;

export interface CliHome {
  home: string;
  env: Record<string, string>;
  /** A project folder under the home (created), by its real path. */
  project(name: string): string;
  /** The per-user secrets store the CLI uses with this home. */
  secrets(): SecretStore;
}

export function cliHome(brokerUrl?: string): CliHome {
  const home = realpathSync(tempDir('duo-cli-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    DUO_LOG_LEVEL: 'warn',
    DUO_AUTOSTART: '0',
  };
  if (brokerUrl) Object.assign(env, { BROKER_URL: brokerUrl, ...ownerTokenEnv(brokerUrl) });
  return {
    home,
    env,
    project(name) {
      const dir = join(home, 'projects', name);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    secrets: () => new SecretStore(secretsFilePath(env)),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  env: Record<string, string>;
  cwd: string;
  /** Written to stdin; stdin is closed after it unless `keepStdinOpen`. */
  input?: string;
  keepStdinOpen?: boolean;
  timeoutMs?: number;
}

export function spawnDuo(args: string[], options: CliOptions): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, duoArgs(...args), {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A command may stop reading its input early (a hook past its size bound): not the test's failure.
  child.stdin.on('error', () => undefined);
  if (options.input !== undefined) child.stdin.write(options.input);
  if (!options.keepStdinOpen) child.stdin.end();
  return child;
}

/** Runs `duo …` to completion (killed after `timeoutMs`). */
export async function runDuo(args: string[], options: CliOptions): Promise<CliResult> {
  const started = Date.now();
  const child = spawnDuo(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (options.keepStdinOpen) child.stdin.destroy();
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** A long-running `duo …` (tail): its output so far, and a way to wait for a line. */
export class LiveDuo {
  stdout = '';
  stderr = '';
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(args: string[], options: CliOptions) {
    this.child = spawnDuo(args, { ...options, keepStdinOpen: true });
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this[stream])) {
      if (this.child.exitCode !== null)
        throw new Error(`duo exited (${this.child.exitCode}) before ${pattern}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${pattern} on ${stream}:\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}
