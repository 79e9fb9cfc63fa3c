/**
 * How a hook finds its Claude Code process and tells `claude -p` from an interactive session,
 * against real process trees: a shell between Claude Code and the hook (as Claude Code runs
 * hooks), or none (a shell that execs the command).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { claudePid, isHeadless, processInfo } from '../../src/cli/hooks/processes.ts';
import { isWaiterProcess } from '../../src/cli/hooks/waiter-lock.ts';

const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const module = pathToFileURL(join(import.meta.dirname, '../../src/cli/hooks/processes.ts')).href;
const probe = `node --import ${loader} -e "import('${module}').then((m) => console.log(m.claudePid({})))"`;

describe('claudePid', () => {
  it('is the nearest ancestor that is not a shell: through sh -c, and when the shell execs the hook', () => {
    const through = execFileSync('/bin/sh', ['-c', `${probe}; true`], { encoding: 'utf8' });
    expect(Number(through.trim())).toBe(process.pid);
    const execd = execFileSync('/bin/sh', ['-c', `exec ${probe}`], { encoding: 'utf8' });
    expect(Number(execd.trim())).toBe(process.pid);
  });

  it('is CLAUDE_PID when Claude Code gives it', () => {
    expect(claudePid({ CLAUDE_PID: '4242' })).toBe(4242);
  });
});

describe('isHeadless', () => {
  function fakeClaude(...args: string[]): number {
    const child = spawn('/bin/sh', ['-c', 'sleep 300', 'claude', ...args], { stdio: 'ignore' });
    onTestFinished(() => void child.kill('SIGKILL'));
    return child.pid!;
  }

  it('trusts CLAUDE_CODE_SESSION_ATTENDED when Claude Code sets it', () => {
    expect(isHeadless({ CLAUDE_CODE_SESSION_ATTENDED: '0' }, fakeClaude())).toBe(true);
    expect(isHeadless({ CLAUDE_CODE_SESSION_ATTENDED: '1' }, fakeClaude('-p', 'x'))).toBe(false);
  });

  it('else reads the command line of the claude process', () => {
    expect(isHeadless({}, fakeClaude('-p', 'fix it'))).toBe(true);
    expect(isHeadless({}, fakeClaude('--print', 'fix it'))).toBe(true);
    expect(isHeadless({}, fakeClaude('-cp', 'fix it'))).toBe(true);
    expect(isHeadless({}, fakeClaude('--output-format=stream-json', '--print=yes'))).toBe(true);
    expect(isHeadless({}, fakeClaude('--debug-file', '/tmp/d.log'))).toBe(false);
    expect(isHeadless({}, fakeClaude('explain -p to me'))).toBe(false);
  });

  it('falls back to an sdk entrypoint only when there is no process to read', () => {
    expect(isHeadless({ CLAUDE_CODE_ENTRYPOINT: 'sdk-cli' }, undefined)).toBe(true);
    expect(isHeadless({ CLAUDE_CODE_ENTRYPOINT: 'cli' }, undefined)).toBe(false);
    expect(isHeadless({ CLAUDE_CODE_ENTRYPOINT: 'sdk-cli' }, fakeClaude('--resume'))).toBe(false);
  });
});

describe('isWaiterProcess', () => {
  it('knows duo hook wait by the command name or the entry file, and nothing else', () => {
    const info = (argv: string[]) => ({ ppid: 1, start: '1', argv });
    expect(isWaiterProcess(info(['node', '/opt/claude-duo/dist/src/cli/main.js', 'hook', 'wait']))).toBe(true);
    expect(isWaiterProcess(info(['node', '/opt/claude-duo/dist/src/cli/hook.cjs', 'hook', 'wait']))).toBe(true);
    expect(isWaiterProcess(info(['node', '/usr/local/bin/duo', 'hook', 'wait', '--broker', 'x']))).toBe(true);
    expect(isWaiterProcess(info(['node', '/usr/local/bin/duo', 'hook', 'post-tool-use']))).toBe(false);
    expect(isWaiterProcess(info(['vim', 'hook', 'wait']))).toBe(false);
    expect(isWaiterProcess(processInfo(process.pid)!)).toBe(false);
  });
});
