import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliHome, DUO_BIN, runDuo } from '../helpers/cli.ts';
import { installFakeClaude } from '../helpers/fake-claude.ts';

const BROKER = 'http://127.0.0.1:3999';
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const backups = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('settings.json.bak-'));

describe('duo install, user scope', () => {
  const h = cliHome();
  const project = h.project('shop');
  const fake = installFakeClaude(h.home);
  const env = { ...h.env, PATH: fake.binDir, FAKE_CLAUDE_LOG: fake.log };
  const settingsFile = join(h.home, '.claude', 'settings.json');
  const original = {
    model: 'opus',
    permissions: { allow: ['Bash(npm test)'] },
    hooks: {
      SessionStart: [{ matcher: 'startup', hooks: [{ type: 'command', command: 'echo welcome' }] }],
      PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'guard.sh' }] }],
    },
  };

  beforeAll(() => {
    mkdirSync(dirname(settingsFile), { recursive: true });
    writeFileSync(settingsFile, JSON.stringify(original, null, 2));
  });

  it('adds the MCP server with claude mcp add and merges the hooks, keeping everything else and a backup', async () => {
    const run = await runDuo(['install', '--yes', '--broker', BROKER], { env, cwd: project });
    expect(run.code, run.stdout + run.stderr).toBe(0);

    const calls = readFileSync(fake.log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(calls).toEqual([
      ['mcp', 'add', 'duo', '-s', 'user', '-e', `BROKER_URL=${BROKER}`, '--', 'node', DUO_BIN, 'partner'],
    ]);
    expect(run.stdout).toContain(`claude mcp add duo -s user -e BROKER_URL=${BROKER} -- node ${DUO_BIN} partner`);
    expect(run.stdout).toContain('claude --dangerously-load-development-channels server:duo');

    const settings = readJson(settingsFile);
    expect(settings.model).toBe('opus');
    expect(settings.permissions).toEqual(original.permissions);
    expect(settings.hooks.PreToolUse).toEqual(original.hooks.PreToolUse);
    expect(settings.hooks.SessionStart).toHaveLength(2);
    expect(settings.hooks.SessionStart[0]).toEqual(original.hooks.SessionStart[0]);
    expect(settings.hooks.SessionStart[1]).toEqual({
      matcher: 'startup|resume|clear|compact',
      hooks: [{ type: 'command', command: `node ${DUO_BIN} hook session-start --broker ${BROKER}`, timeout: 10 }],
    });
    expect(settings.hooks.SessionEnd).toEqual([
      { hooks: [{ type: 'command', command: `node ${DUO_BIN} hook session-end --broker ${BROKER}`, timeout: 5 }] },
    ]);

    const [backup, ...more] = backups(dirname(settingsFile));
    expect(more).toEqual([]);
    expect(readJson(join(dirname(settingsFile), backup!))).toEqual(original);
  });

  it('is idempotent: a second run adds nothing, runs nothing and makes no backup', async () => {
    const before = readFileSync(settingsFile, 'utf8');
    const run = await runDuo(['install', '--yes', '--broker', BROKER], { env, cwd: project });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/already runs the duo partner/);
    expect(run.stdout).toMatch(/duo hooks are already in/);
    expect(readFileSync(settingsFile, 'utf8')).toBe(before);
    expect(backups(dirname(settingsFile))).toHaveLength(1);
    expect(readFileSync(fake.log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('writes hook commands that really run', async () => {
    const settings = readJson(settingsFile);
    const command: string = settings.hooks.SessionStart[1].hooks[0].command;
    const out = execFileSync('/bin/sh', ['-c', command], {
      env: { ...h.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
      input: JSON.stringify({ session_id: 's', cwd: project, hook_event_name: 'SessionStart', source: 'startup' }),
      encoding: 'utf8',
    });
    expect(out).toMatch(/^Claude Duo: /);
  });
});

describe('duo install, project scope', () => {
  it('without claude on PATH prints the command to run, and adds the hooks to the project settings', async () => {
    const h = cliHome();
    const project = h.project('web app');
    const empty = join(h.home, 'empty-bin');
    mkdirSync(empty);
    const run = await runDuo(['install', '--scope', 'project', '--name', 'Web App', '--broker', BROKER], {
      env: { ...h.env, PATH: empty },
      cwd: project,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `claude mcp add duo -s project -e BROKER_URL=${BROKER} -e 'PARTNER_NAME=Web App' -- node ${DUO_BIN} partner`,
    );
    expect(run.stdout).toMatch(/claude command is not on PATH/);
    const file = join(project, '.claude', 'settings.json');
    const settings = readJson(file);
    expect(Object.keys(settings.hooks)).toEqual(['SessionStart', 'SessionEnd']);
    expect(backups(dirname(file))).toEqual([]);
    expect(existsSync(join(h.home, '.claude', 'settings.json'))).toBe(false);
  });

  it('refuses to touch settings that are not valid JSON', async () => {
    const h = cliHome();
    const project = h.project('broken');
    const file = join(project, '.claude', 'settings.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '{ "hooks": { oops');
    const run = await runDuo(['install', '--scope', 'project', '--broker', BROKER], {
      env: { ...h.env, PATH: join(h.home, 'none') },
      cwd: project,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/settings\.json is not valid JSON.*Nothing was changed/);
    expect(readFileSync(file, 'utf8')).toBe('{ "hooks": { oops');
  });
});
