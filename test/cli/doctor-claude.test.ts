/**
 * Which duo server Claude Code really runs, read from its files the way it reads them (local,
 * then an approved project entry, then user; approvals count from the project's settings only
 * once the folder is trusted), and what `duo doctor` says about it without `claude` installed.
 * The rules were taken from Claude Code 2.1.197; test/package/claude-code.test.ts checks them
 * against the real command line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duoServerInUse, findDuoServers, parseClaudeAnswer, projectApproval } from '../../src/cli/claude-mcp.ts';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo, type CliHome } from '../helpers/cli.ts';

const entry = (url: string) => ({
  type: 'stdio',
  command: 'node',
  args: ['/opt/duo/main.js', 'partner'],
  env: { BROKER_URL: url },
});

function write(file: string, value: unknown): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(value));
}

function setUp(
  h: CliHome,
  project: string,
  files: { user?: string; local?: string; mcpJson?: string; trusted?: boolean },
) {
  const claudeJson: Record<string, unknown> = {};
  if (files.user) claudeJson.mcpServers = { duo: entry(files.user) };
  const projectConfig: Record<string, unknown> = {};
  if (files.local) projectConfig.mcpServers = { duo: entry(files.local) };
  if (files.trusted) projectConfig.hasTrustDialogAccepted = true;
  claudeJson.projects = { [project]: projectConfig };
  write(join(h.home, '.claude.json'), claudeJson);
  if (files.mcpJson) write(join(project, '.mcp.json'), { mcpServers: { duo: entry(files.mcpJson) } });
}

describe('the duo server Claude Code uses, from its files', () => {
  it('prefers local, then an approved project entry, then user', () => {
    const h = cliHome();
    const project = h.project('shop');
    setUp(h, project, { user: 'http://u', mcpJson: 'http://p', local: 'http://l' });
    write(join(h.home, '.claude', 'settings.json'), { enabledMcpjsonServers: ['duo'] });
    const all = findDuoServers(h.env, project);
    expect(all.map((e) => e.scope)).toEqual(['local', 'project', 'user']);
    expect(duoServerInUse(all)?.env.BROKER_URL).toBe('http://l');
    expect(duoServerInUse(all.filter((e) => e.scope !== 'local'))?.env.BROKER_URL).toBe('http://p');
    expect(duoServerInUse(all.filter((e) => e.scope === 'user'))?.env.BROKER_URL).toBe('http://u');
  });

  it('skips a project entry nobody approved, and one that was rejected', () => {
    const h = cliHome();
    const project = h.project('shop');
    setUp(h, project, { user: 'http://u', mcpJson: 'http://p' });
    const pending = findDuoServers(h.env, project);
    expect(pending.find((e) => e.scope === 'project')?.approval).toBe('pending');
    expect(duoServerInUse(pending)?.scope).toBe('user');
    write(join(h.home, '.claude', 'settings.json'), {
      enableAllProjectMcpServers: true,
      disabledMcpjsonServers: ['duo'],
    });
    expect(projectApproval(h.env, project, 'duo')).toBe('rejected');
  });

  it('counts the project and local settings only once the folder is trusted', () => {
    const h = cliHome();
    const project = h.project('shop');
    setUp(h, project, { mcpJson: 'http://p' });
    write(join(project, '.claude', 'settings.local.json'), { enabledMcpjsonServers: ['duo'] });
    expect(projectApproval(h.env, project, 'duo')).toBe('pending');
    setUp(h, project, { mcpJson: 'http://p', trusted: true });
    expect(projectApproval(h.env, project, 'duo')).toBe('approved');
  });

  it('reads what claude mcp get prints', () => {
    const text = [
      'duo:',
      '  Scope: Project config (shared via .mcp.json)',
      '  Status: ⏸ Pending approval (run `claude` to approve)',
      '  Type: stdio',
      '  Command: node',
      '  Args: /opt/duo/dist/src/cli/main.js partner',
      '  Environment:',
      '    BROKER_URL=http://127.0.0.1:3999',
      '    PARTNER_NAME=Web App',
      '',
      'To remove this server, run: claude mcp remove duo -s project',
    ].join('\n');
    expect(parseClaudeAnswer(text)).toEqual({
      scope: 'project',
      status: '⏸ Pending approval (run `claude` to approve)',
      env: { BROKER_URL: 'http://127.0.0.1:3999', PARTNER_NAME: 'Web App' },
    });
    expect(parseClaudeAnswer('No MCP server named "duo" found.')).toBeUndefined();
  });
});

describe('duo doctor without claude installed', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('a user entry and an approved project entry on another broker: checks the project one', async () => {
    const h = cliHome();
    const project = h.project('shop');
    const dead = `http://127.0.0.1:${await freePort()}`;
    setUp(h, project, { user: dead, mcpJson: broker.url });
    write(join(h.home, '.claude', 'settings.json'), { enabledMcpjsonServers: ['duo'] });
    const run = await runDuo(['doctor'], { env: h.env, cwd: project });
    expect(run.stdout).toContain(`— broker ${broker.url}, project ${project}`);
    expect(run.stdout).toMatch(/✓ The broker answers at/);
    expect(run.stdout).toContain(
      `✓ Claude Code runs the duo partner: "duo" in ${project}/.mcp.json (it takes precedence over ${h.home}/.claude.json`,
    );
  });

  it('only a .mcp.json entry nobody approved: says it waits for approval and how to approve, exits 1', async () => {
    const h = cliHome();
    const project = h.project('shop');
    setUp(h, project, { mcpJson: broker.url });
    const run = await runDuo(['doctor'], { env: h.env, cwd: project });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`✗ The duo server in ${project}/.mcp.json is waiting for your approval`);
    expect(run.stdout).toMatch(/→ Start `claude` in this folder and answer "Use this MCP server"/);
    expect(run.stdout).not.toMatch(/Everything needed works/);
  });

  it('a user entry whose script is gone: says so', async () => {
    const h = cliHome(broker.url);
    const project = h.project('shop');
    setUp(h, project, { user: broker.url });
    const run = await runDuo(['doctor'], { env: h.env, cwd: project });
    expect(run.stdout).toContain('✗ That entry runs /opt/duo/main.js, which does not exist');
  });
});
