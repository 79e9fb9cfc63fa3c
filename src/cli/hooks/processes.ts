/**
 * The processes around a hook: which Claude Code process runs it, whether that session is
 * headless (`claude -p`), and whether a process is still the one a pid file named.
 *
 * Claude Code runs a hook command as `/bin/sh -c "<command>"`, a child of the claude process, so
 * the claude pid is the hook's grandparent, or its parent if the shell execs the command (newer
 * versions also say it in CLAUDE_PID). The claude binary's name varies (`claude.exe`, `node`), so
 * it is found as the nearest ancestor that is not a shell. A headless
 * session runs with `-p`/`--print` on its command line; newer versions also set
 * CLAUDE_CODE_SESSION_ATTENDED to 0 (headless) or 1 (interactive) for their hooks, overriding what
 * they inherited. CLAUDE_CODE_ENTRYPOINT (`sdk-…` when headless) is inherited by nested sessions,
 * so it is only the last resort.
 *
 * Linux answers from /proc; elsewhere one `ps` call does.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Env } from '../command.ts';

export interface ProcessInfo {
  ppid: number;
  /** When it started, in the system's own terms: with the pid, it names one process for good. */
  start: string;
  argv: string[];
}

export function processInfo(pid: number): ProcessInfo | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return { ppid: Number(fields[1]), start: fields[19] ?? '', argv };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existsProc()) return undefined;
  }
  try {
    const line = execFileSync('ps', ['-o', 'ppid=', '-o', 'lstart=', '-o', 'args=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 2_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trimStart();
    const ppid = /^\d+/.exec(line)?.[0];
    if (ppid === undefined) return undefined;
    const rest = line.slice(ppid.length).trimStart();
    // lstart is fixed width: "Mon Dec  4 10:30:00 2026".
    return { ppid: Number(ppid), start: rest.slice(0, 24), argv: rest.slice(24).trim().split(/\s+/) };
  } catch {
    return undefined;
  }
}

function existsProc(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // Someone else's process is alive too, we just may not signal it.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Programs that may stand between Claude Code and the hook (a shell that did not exec it). */
const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'env']);

/** The Claude Code process running this hook: CLAUDE_PID, else the nearest ancestor that is not a shell. */
export function claudePid(env: Env): number | undefined {
  const given = env.CLAUDE_PID;
  if (given !== undefined && /^\d{1,10}$/.test(given)) return Number(given);
  let pid = process.ppid;
  for (let hops = 0; hops < 4 && pid > 1; hops++) {
    const info = processInfo(pid);
    if (!info) return undefined;
    const program = info.argv[0]?.slice(info.argv[0].lastIndexOf('/') + 1) ?? '';
    if (!SHELLS.has(program)) return pid;
    pid = info.ppid;
  }
  return undefined;
}

/** Whether the session is `claude -p` (no one is there to wake). */
export function isHeadless(env: Env, pid: number | undefined): boolean {
  if (env.CLAUDE_CODE_SESSION_ATTENDED === '0') return true;
  if (env.CLAUDE_CODE_SESSION_ATTENDED === '1') return false;
  const argv = pid === undefined ? undefined : processInfo(pid)?.argv;
  if (argv) return argv.slice(1).some(isPrintFlag);
  return env.CLAUDE_CODE_ENTRYPOINT?.startsWith('sdk-') ?? false;
}

/** `-p`, `--print`, `--print=…`, or short flags run together with p in them (`-cp`). */
function isPrintFlag(arg: string): boolean {
  return arg === '--print' || arg.startsWith('--print=') || /^-[a-zA-Z]*p[a-zA-Z]*$/.test(arg);
}
