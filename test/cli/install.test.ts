import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOOK_WAIT_LIFETIME_MS, HOOK_WAIT_TIMEOUT_MARGIN_SECONDS } from '../../src/shared/defaults.ts';
import { cliHome, DUO_BIN, DUO_HOOKS_BIN, runDuo } from '../helpers/cli.ts';
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
    const server = {
      type: 'stdio',
      command: 'node',
      args: [DUO_BIN, 'partner'],
      env: { BROKER_URL: BROKER },
      alwaysLoad: true,
    };
    expect(calls).toEqual([['mcp', 'add-json', 'duo', JSON.stringify(server), '-s', 'user']]);
    expect(run.stdout).toContain(`claude mcp add-json duo '${JSON.stringify(server)}' -s user`);
    // What Claude Code keeps: the entry, with alwaysLoad (headless sessions wait for the server).
    expect(readJson(join(h.home, '.claude.json')).mcpServers.duo).toEqual(server);
    expect(run.stdout).toMatch(
      /✓ Added the SessionStart, SessionEnd, Stop, PostToolUse and UserPromptSubmit hooks in .*settings\.json \(previous file kept as/,
    );
    // Channels are optional now: the hooks deliver without them.
    expect(run.stdout).toMatch(/Channels are optional;[^]*claude --dangerously-load-development-channels server:duo/);

    const settings = readJson(settingsFile);
    expect(settings.model).toBe('opus');
    expect(settings.permissions).toEqual(original.permissions);
    expect(settings.hooks.PreToolUse).toEqual(original.hooks.PreToolUse);
    expect(settings.hooks.SessionStart).toHaveLength(2);
    expect(settings.hooks.SessionStart[0]).toEqual(original.hooks.SessionStart[0]);
    expect(settings.hooks.SessionStart[1]).toEqual({
      matcher: 'startup|resume|clear|compact',
      hooks: [{ type: 'command', command: `node ${DUO_HOOKS_BIN} hook session-start --broker ${BROKER}`, timeout: 10 }],
    });
    expect(settings.hooks.SessionEnd).toEqual([
      {
        hooks: [{ type: 'command', command: `node ${DUO_HOOKS_BIN} hook session-end --broker ${BROKER}`, timeout: 5 }],
      },
    ]);
    // The waiter runs in the background and may wake the session; Claude Code's timeout is past its lifetime.
    expect(settings.hooks.Stop).toEqual([
      {
        hooks: [
          {
            type: 'command',
            command: `node ${DUO_HOOKS_BIN} hook wait --broker ${BROKER}`,
            timeout: HOOK_WAIT_LIFETIME_MS / 1000 + HOOK_WAIT_TIMEOUT_MARGIN_SECONDS,
            async: true,
            asyncRewake: true,
          },
        ],
      },
    ]);
    expect(settings.hooks.PostToolUse).toEqual([
      {
        matcher: '^(?!mcp__duo__)',
        hooks: [
          { type: 'command', command: `node ${DUO_HOOKS_BIN} hook post-tool-use --broker ${BROKER}`, timeout: 10 },
        ],
      },
    ]);
    expect(settings.hooks.UserPromptSubmit).toEqual([
      {
        hooks: [
          { type: 'command', command: `node ${DUO_HOOKS_BIN} hook user-prompt-submit --broker ${BROKER}`, timeout: 10 },
        ],
      },
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
    // The others too (compiled, through a shell, as Claude Code runs them); none has anything to say here.
    for (const event of ['SessionEnd', 'Stop', 'PostToolUse', 'UserPromptSubmit']) {
      const hook = settings.hooks[event].at(-1).hooks[0];
      const result = spawnSync('/bin/sh', ['-c', hook.command], {
        env: { ...h.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, CLAUDE_CODE_SESSION_ATTENDED: '0' },
        input: JSON.stringify({ session_id: 's', cwd: project, hook_event_name: event, tool_name: 'Bash' }),
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status, `${event}: ${result.stderr}`).toBe(0);
      expect(result.stdout, event).toBe('');
    }
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
      `claude mcp add-json duo '{"type":"stdio","command":"node","args":["${DUO_BIN}","partner"],"env":{"BROKER_URL":"${BROKER}","PARTNER_NAME":"Web App"},"alwaysLoad":true}' -s project`,
    );
    expect(run.stdout).toMatch(/claude command is not on PATH/);
    const file = join(project, '.claude', 'settings.json');
    const settings = readJson(file);
    expect(Object.keys(settings.hooks)).toEqual([
      'SessionStart',
      'SessionEnd',
      'Stop',
      'PostToolUse',
      'UserPromptSubmit',
    ]);
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

describe('duo install brings older duo hooks up to date', () => {
  it('adds the async fields to a duo Stop hook that lacks them, keeping fields of its own', async () => {
    const h = cliHome();
    const project = h.project('older');
    const file = join(h.home, '.claude', 'settings.json');
    mkdirSync(dirname(file), { recursive: true });
    const stale = { type: 'command', command: `node ${DUO_BIN} hook wait --broker ${BROKER}`, statusMessage: 'mine' };
    writeFileSync(file, JSON.stringify({ hooks: { Stop: [{ hooks: [stale] }] } }));
    const run = await runDuo(['install', '--broker', BROKER], {
      env: { ...h.env, PATH: join(h.home, 'none') },
      cwd: project,
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/and updated the Stop hook in/);
    const [group, ...more] = readJson(file).hooks.Stop;
    expect(more).toEqual([]);
    expect(group.hooks).toEqual([
      {
        ...stale,
        // Runs the hooks' own entry now, not the main one.
        command: `node ${DUO_HOOKS_BIN} hook wait --broker ${BROKER}`,
        timeout: HOOK_WAIT_LIFETIME_MS / 1000 + HOOK_WAIT_TIMEOUT_MARGIN_SECONDS,
        async: true,
        asyncRewake: true,
      },
    ]);
  });
});

describe('duo uninstall', () => {
  const h = cliHome();
  const project = h.project('shop');
  const fake = installFakeClaude(h.home);
  const env = { ...h.env, PATH: fake.binDir, FAKE_CLAUDE_LOG: fake.log };
  const settingsFile = join(h.home, '.claude', 'settings.json');
  const claudeJson = join(h.home, '.claude.json');
  const original = {
    model: 'opus',
    hooks: {
      SessionStart: [{ matcher: 'startup', hooks: [{ type: 'command', command: 'echo welcome' }] }],
      Stop: [{ hooks: [{ type: 'command', command: 'notify-send done' }] }],
      PostToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'audit.sh' }] }],
    },
  };
  const calls = () =>
    readFileSync(fake.log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));

  beforeAll(() => {
    mkdirSync(dirname(settingsFile), { recursive: true });
    writeFileSync(settingsFile, JSON.stringify(original, null, 2));
    writeFileSync(claudeJson, JSON.stringify({ numStartups: 3, mcpServers: { other: { command: 'other-server' } } }));
  });

  it('after install, removes exactly what install added: the foreign hooks and servers stay', async () => {
    expect((await runDuo(['install', '--yes', '--broker', BROKER], { env, cwd: project })).code).toBe(0);
    // Someone moved a duo hook into a group of their own: it goes, their hook in that group stays.
    const moved = readJson(settingsFile);
    moved.hooks.PostToolUse[0].hooks.push({ type: 'command', command: `node ${DUO_BIN} hook post-tool-use` });
    writeFileSync(settingsFile, JSON.stringify(moved, null, 2));

    const run = await runDuo(['uninstall', '--yes'], { env, cwd: project });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /Removed the duo SessionStart, Stop, PostToolUse, SessionEnd, UserPromptSubmit hooks from .*settings\.json \(previous file kept as .*\.bak-/,
    );
    expect(run.stdout).toContain('claude mcp remove duo -s user');
    expect(calls().at(-1)).toEqual(['mcp', 'remove', 'duo', '-s', 'user']);
    expect(readJson(settingsFile)).toEqual(original);
    expect(readJson(claudeJson)).toEqual({ numStartups: 3, mcpServers: { other: { command: 'other-server' } } });
  });

  it('a second run finds nothing, changes nothing and runs nothing', async () => {
    const before = readFileSync(settingsFile, 'utf8');
    const backupsBefore = backups(dirname(settingsFile)).length;
    const callsBefore = calls().length;
    const run = await runDuo(['uninstall', '--yes'], { env, cwd: project });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/No duo hooks in/);
    expect(run.stdout).toMatch(/No duo MCP server in user scope/);
    expect(readFileSync(settingsFile, 'utf8')).toBe(before);
    expect(backups(dirname(settingsFile))).toHaveLength(backupsBefore);
    expect(calls()).toHaveLength(callsBefore);
  });

  it('without --yes (and no terminal) only prints the command; without claude says where to run it', async () => {
    expect((await runDuo(['install', '--yes', '--broker', BROKER], { env, cwd: project })).code).toBe(0);
    const asked = await runDuo(['uninstall'], { env, cwd: project });
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(
      /claude mcp remove duo -s user\n {2}Not run: run it yourself, or run duo uninstall --yes/,
    );
    expect(readJson(claudeJson).mcpServers.duo).toBeDefined();
    const noClaude = await runDuo(['uninstall'], { env: { ...env, PATH: join(h.home, 'none') }, cwd: project });
    expect(noClaude.stdout).toMatch(/claude command is not on PATH/);
  });
});
