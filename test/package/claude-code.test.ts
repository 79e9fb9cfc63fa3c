/**
 * `duo install` and `duo doctor` from this clone against the real Claude Code command line (a
 * pinned version, installed at run time): the user-scope round trip, a project-scope server
 * that waits for approval, and which of several entries Claude Code really uses. No API key
 * exists and none is needed: only `claude mcp …` runs, never the model.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClaudeAnswer } from '../../src/cli/claude-mcp.ts';
import { COMPILED_ENTRY } from '../../src/shared/entry.ts';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { runDuo } from '../helpers/cli.ts';
import { figure } from '../helpers/scale.ts';
import { claudeRoundTrip, type Duo } from './claude-flow.ts';
import { claudeCode, cleanHome, run, type ClaudeCode, type CleanHome } from './tools.ts';

describe('duo and the real Claude Code, from the clone', () => {
  let claude: ClaudeCode;
  let broker: TestBroker;
  const homes: CleanHome[] = [];
  // The sources under test; Claude Code itself is told to run the compiled entry.
  const duo: Duo = async (args, h) => {
    const result = await runDuo(args, { env: h.env, cwd: h.project, timeoutMs: 60_000 });
    return { ...result, output: `${result.stdout}\n${result.stderr}` };
  };
  const home = (extra: Record<string, string> = {}) => {
    if ('skip' in claude) throw new Error(claude.skip);
    const made = cleanHome([claude.binDir], extra);
    homes.push(made);
    return made;
  };
  const claudeRun = (h: CleanHome, args: string[]) => {
    if ('skip' in claude) throw new Error(claude.skip);
    return run(claude.claude, args, { env: h.env, cwd: h.project, timeoutMs: 60_000 });
  };

  beforeAll(async () => {
    [claude, broker] = await Promise.all([claudeCode(), startBroker()]);
  }, 320_000);

  afterAll(async () => {
    for (const h of homes) await duo(['broker', 'stop'], h).catch(() => undefined);
    for (const h of homes) rmSync(h.home, { recursive: true, force: true });
    await broker?.close();
  }, 60_000);

  it('user scope: claude mcp list shows duo Connected, claude mcp get agrees with doctor', async (ctx) => {
    if ('skip' in claude) return ctx.skip(claude.skip);
    const figures = await claudeRoundTrip({
      duo,
      claude: claude.claude,
      home: home(),
      brokerUrl: `http://127.0.0.1:${await freePort()}`,
      entry: COMPILED_ENTRY,
    });
    figure('real Claude Code, clone', figures);
  }, 180_000);

  it('project scope: the server waits for approval, and install and doctor say how to give it', async (ctx) => {
    if ('skip' in claude) return ctx.skip(claude.skip);
    // Only `claude mcp` runs here: no partner needs to start a broker.
    const h = home({ DUO_AUTOSTART: '0' });
    const install = await duo(['install', '--yes', '--scope', 'project', '--broker', broker.url], h);
    expect(install.code, install.output).toBe(0);
    expect(install.stdout).toMatch(/Approve the project's server/);

    const list = await claudeRun(h, ['mcp', 'list']);
    expect(list.stdout).toMatch(/^duo: .* - ⏸ Pending approval/m);
    const doctor = await duo(['doctor'], h);
    expect(doctor.code, doctor.output).toBe(1);
    expect(doctor.stdout).toContain(
      `✗ The duo server in ${h.project}/.mcp.json is waiting for your approval: Claude Code does not start it`,
    );
    expect(doctor.stdout).toMatch(/→ Start `claude` in this folder and answer "Use this MCP server"/);
    expect(doctor.stdout).not.toMatch(/Everything needed works/);

    // Approved (as the dialog would, for this user): now it runs, and doctor agrees.
    writeSettings(h, { enabledMcpjsonServers: ['duo'] });
    const get = parseClaudeAnswer((await claudeRun(h, ['mcp', 'get', 'duo'])).stdout);
    expect(get?.scope).toBe('project');
    expect(get?.status).toBe('✔ Connected');
    const after = await duo(['doctor'], h);
    expect(after.stdout).toContain(
      `✓ Claude Code runs the duo partner: "duo" in ${h.project}/.mcp.json — claude mcp get duo: ✔ Connected.`,
    );
  }, 180_000);

  it('several entries: doctor follows the one Claude Code uses (local, then approved project, then user)', async (ctx) => {
    if ('skip' in claude) return ctx.skip(claude.skip);
    const h = home({ DUO_AUTOSTART: '0' });
    const dead = `http://127.0.0.1:${await freePort()}`;
    // A user entry on a broker that is not there, a project entry on the one that runs.
    expect((await duo(['install', '--yes', '--no-hooks', '--broker', dead], h)).code).toBe(0);
    writeFileSync(
      join(h.project, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          duo: { type: 'stdio', command: 'node', args: [COMPILED_ENTRY, 'partner'], env: { BROKER_URL: broker.url } },
        },
      }),
    );
    writeSettings(h, { enabledMcpjsonServers: ['duo'] });
    expect(parseClaudeAnswer((await claudeRun(h, ['mcp', 'get', 'duo'])).stdout)?.env.BROKER_URL).toBe(broker.url);
    const doctor = await duo(['doctor'], h);
    expect(doctor.stdout).toContain(`— broker ${broker.url}, project ${h.project}`);
    expect(doctor.stdout).toMatch(/✓ The broker answers at http:\/\/127\.0\.0\.1:\d+ \(version/);
    expect(doctor.stdout).toContain(
      `✓ Claude Code runs the duo partner: "duo" in ${h.project}/.mcp.json (it takes precedence over ${h.home}/.claude.json`,
    );

    // A local entry beats both.
    const local = await claudeRun(h, [
      'mcp',
      'add',
      'duo',
      '-s',
      'local',
      '-e',
      `BROKER_URL=${dead}`,
      '--',
      'node',
      COMPILED_ENTRY,
      'partner',
    ]);
    expect(local.code, local.output).toBe(0);
    expect(parseClaudeAnswer((await claudeRun(h, ['mcp', 'get', 'duo'])).stdout)?.scope).toBe('local');
    const again = await duo(['doctor'], h);
    expect(again.stdout).toContain(`— broker ${dead}, project ${h.project}`);
    expect(again.stdout).toMatch(/✓ Claude Code runs the duo partner: "duo" in .*\.claude\.json \(projects\[/);
    expect(again.code).toBe(1);
  }, 180_000);
});

/** ~/.claude/settings.json, as Claude Code's approval dialog or a user would write it. */
function writeSettings(h: CleanHome, settings: Record<string, unknown>): void {
  mkdirSync(join(h.home, '.claude'), { recursive: true });
  writeFileSync(join(h.home, '.claude', 'settings.json'), JSON.stringify(settings));
}
