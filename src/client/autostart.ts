/**
 * Starts a broker when a partner or a command needs one and none answers, so nobody has to
 * remember `duo broker`. Only for a single loopback http:// BROKER_URL (a broker on another machine
 * is someone else's to run, and a list of brokers is a team's, run by the team), and never with
 * DUO_AUTOSTART=0.
 *
 * Several processes asking at once (five Claude Code sessions opening together) start exactly
 * one broker: a lock file per port elects the one that starts it, the others wait for /health.
 * Should two ever start one anyway, the broker's own port and database lock let only one live,
 * and the loser's caller still finds the winner answering. The broker runs detached
 * (`duo broker`), outlives whoever started it, and appends its log to
 * $XDG_STATE_HOME/claude-duo/broker.log.
 *
 * The state folder is private (0700) and every file in it, the log and the lock included, is
 * opened without following links (private-files.ts): a link planted there is refused, never
 * written through.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, lstatSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLoopbackHost } from '../shared/config.ts';
import { duoArgs } from '../shared/entry.ts';
import { nodeHttp } from './transport.ts';
import { DuoError } from '../shared/errors.ts';
import { brokerLogPath, stateDir } from '../shared/paths.ts';
import { createPrivate, openPrivate, privateDir } from '../shared/private-files.ts';
import { splitBrokerUrls } from './endpoint.ts';

type Env = Record<string, string | undefined>;

/**
 * running: a broker answers (perhaps one another process just started); started: this call
 * started it; disabled: DUO_AUTOSTART is off; remote: the URL is not a loopback http:// one, or
 * BROKER_URL lists several brokers.
 */
export type AutostartOutcome = 'running' | 'started' | 'disabled' | 'remote';

export interface EnsureBrokerOptions {
  /** The caller's environment: DUO_AUTOSTART, where logs go, and what the broker inherits. */
  env: Env;
  /** How long a new broker may take to answer /health. */
  readyTimeoutMs?: number;
}

/** A dead broker's port refuses at once; this only bounds a broker that hangs. */
const PROBE_TIMEOUT_MS = 1_000;
const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 100;
/** A lock older than this was left by a starter that hung; a live one holds it for seconds. */
const STALE_LOCK_MS = 60_000;
/** The log is moved aside to broker.log.1 once it grows past this, when a broker is started. */
const MAX_LOG_BYTES = 5 * 1024 * 1024;

/** Whether autostart is turned off in `env` (DUO_AUTOSTART=0, or false/no/off). */
export function autostartDisabled(env: Env): boolean {
  return /^(0|false|no|off)$/i.test(env.DUO_AUTOSTART?.trim() ?? '');
}

/** Whether a partner or command that finds no broker at `brokerUrl` starts one itself. */
export function autostarts(brokerUrl: string, env: Env): boolean {
  return !autostartDisabled(env) && splitBrokerUrls(brokerUrl).length === 1 && loopbackTarget(brokerUrl) !== undefined;
}

/**
 * Makes sure a broker answers at `brokerUrl`, starting one when it may. Resolves with what it
 * found or did; rejects with a DuoError that says what to do when the broker it started does
 * not come up.
 */
export async function ensureBroker(brokerUrl: string, options: EnsureBrokerOptions): Promise<AutostartOutcome> {
  if (autostartDisabled(options.env)) return 'disabled';
  if (splitBrokerUrls(brokerUrl).length !== 1) return 'remote';
  const target = loopbackTarget(brokerUrl);
  if (!target) return 'remote';
  if (await brokerAnswers(brokerUrl)) return 'running';

  try {
    return await startOnce(brokerUrl, target, options);
  } catch (error) {
    if (error instanceof DuoError) throw error;
    // A state folder we cannot write, a node we cannot spawn: the same advice applies.
    throw notStarted(brokerUrl, options.env, `could not be started (${(error as Error).message})`);
  }
}

/** Elects one starter per port through a lock file; everyone else waits for /health. */
async function startOnce(brokerUrl: string, target: Target, options: EnsureBrokerOptions): Promise<AutostartOutcome> {
  const deadline = Date.now() + (options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  const dir = stateDir(options.env);
  privateDir(dir);
  const lockPath = join(dir, `autostart-${target.port}.lock`);
  for (;;) {
    const release = tryLock(lockPath);
    if (release) {
      try {
        // Whoever held the lock before us may have just finished starting it.
        if (await brokerAnswers(brokerUrl)) return 'running';
        return await startBroker(brokerUrl, target, options.env, deadline);
      } finally {
        release();
      }
    }
    // Another process is starting it: wait for it to answer.
    await sleep(POLL_MS);
    if (await brokerAnswers(brokerUrl)) return 'running';
    if (Date.now() > deadline) throw notStarted(brokerUrl, options.env, 'did not answer in time');
  }
}

/** GET /health answers 200 at `brokerUrl`. */
export async function brokerAnswers(brokerUrl: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  try {
    // node:http like the partner's requests: the partner calls this first, and fetch would load undici.
    const response = await nodeHttp(new URL(`${brokerUrl.replace(/\/+$/, '')}/health`), {
      method: 'GET',
      headers: {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok;
  } catch {
    return false;
  }
}

interface Target {
  host: string;
  port: number;
}

/** Where a broker for `brokerUrl` would listen, when that is this machine over plain http. */
export function loopbackTarget(brokerUrl: string): Target | undefined {
  let url: URL;
  try {
    url = new URL(brokerUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname)) return undefined;
  const host = url.hostname === '[::1]' ? '::1' : url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}

/** Spawns `duo broker` detached and waits for /health: `started`, or `running` when another one won the port. */
async function startBroker(
  brokerUrl: string,
  target: Target,
  env: Env,
  deadline: number,
): Promise<'started' | 'running'> {
  const logFile = brokerLogPath(env);
  rotate(logFile);
  const log = openPrivate(logFile, 'append', `Remove it (\`rm ${logFile}\`) and try again.`)!;
  let exit: string | undefined;
  try {
    const child = spawn(process.execPath, duoArgs('broker', '--port', String(target.port), '--host', target.host), {
      detached: true,
      stdio: ['ignore', log, log],
      env: env as NodeJS.ProcessEnv,
      cwd: stateDir(env),
    });
    child.once('error', (error) => (exit = error.message));
    child.once('exit', (code, signal) => (exit = signal ? `was stopped by ${signal}` : `exited with code ${code}`));
    child.unref();
  } finally {
    closeSync(log);
  }
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const answers = await brokerAnswers(brokerUrl);
    // Lost a race to another broker on the same port or database: fine if that one answers.
    if (answers) return exit === undefined ? 'started' : 'running';
    if (exit !== undefined) throw notStarted(brokerUrl, env, exit);
  }
  throw notStarted(brokerUrl, env, 'did not answer in time');
}

function notStarted(brokerUrl: string, env: Env, why: string): DuoError {
  const logFile = brokerLogPath(env);
  const last = lastLine(logFile);
  return new DuoError(
    'unavailable',
    `No Duo broker answered at ${brokerUrl}, and the one started for it ${why}${last ? ` (${last})` : ''}. See ${logFile}, or start one yourself with \`duo broker\`.`,
  );
}

/**
 * Takes the lock file (holding our pid), or returns undefined while another live process holds
 * it. A lock left by a process that died, or one that hung, is taken over.
 */
function tryLock(lockPath: string): (() => void) | undefined {
  // Written aside and linked into place, so the lock never exists without its pid in it.
  const mine = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
  createPrivate(mine, String(process.pid));
  try {
    linkSync(mine, lockPath);
    return () => {
      try {
        if (readOwn(lockPath) === String(process.pid)) unlinkSync(lockPath);
      } catch {
        // Already gone.
      }
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(mine);
  }
  try {
    const content = readOwn(lockPath);
    const age = Date.now() - lstatSync(lockPath).mtimeMs;
    const stale = content === undefined || !isAlive(Number.parseInt(content, 10)) || age > STALE_LOCK_MS;
    // Checked again right before removing: another process may have taken it over meanwhile.
    if (stale && readOwn(lockPath) === content) unlinkSync(lockPath);
  } catch {
    // Released meanwhile: the next round tries again.
  }
  return undefined;
}

/**
 * The text of one of our files in the state folder, or undefined when it is missing, a link, or
 * not ours (a lock that is not ours counts as stale: it is removed, never followed).
 */
function readOwn(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openPrivate(file, 'read', '');
    return fd === undefined ? undefined : readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function rotate(logFile: string): void {
  try {
    // lstat: a planted link is never followed, only moved aside like a log.
    if (lstatSync(logFile).size > MAX_LOG_BYTES) renameSync(logFile, `${logFile}.1`);
  } catch {
    // No log yet.
  }
}

/** The last non-empty line of the log, shortened, for an error message. */
function lastLine(file: string): string | undefined {
  const text = readOwn(file)?.slice(-4096);
  if (text === undefined) return undefined;
  const line = text.trimEnd().split('\n').pop()?.trim();
  if (!line) return undefined;
  try {
    // The broker logs JSON lines; the sentence is the part worth showing.
    const parsed = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown } };
    const msg = typeof parsed.msg === 'string' ? parsed.msg : undefined;
    const err = typeof parsed.err?.message === 'string' ? parsed.err.message : undefined;
    if (msg || err) return [msg, err].filter(Boolean).join(': ').slice(0, 200);
  } catch {
    // Plain text.
  }
  return line.slice(0, 200);
}
