/**
 * One round trip through the real Claude Code command line, shared by the clone and the packed
 * install: `duo install --yes`, `claude mcp list` shows duo Connected (its health check spawns our
 * partner, which starts a broker by itself), `claude mcp get duo` and `duo doctor` agree, `duo
 * broker stop` stops the broker that was started on demand, and `duo uninstall --yes` removes the
 * server (through `claude mcp remove`) and the hooks.
 */
import { expect } from 'vitest';
import { parseClaudeAnswer } from '../../src/cli/claude-mcp.ts';
import { waitFor } from '../helpers/scale.ts';
import { run, type CleanHome, type RunResult } from './tools.ts';

export type Duo = (args: string[], home: CleanHome) => Promise<RunResult>;

export async function claudeRoundTrip(options: {
  duo: Duo;
  claude: string;
  home: CleanHome;
  brokerUrl: string;
  /** The compiled entry Claude Code must be told to run. */
  entry: string;
}): Promise<Record<string, unknown>> {
  const { duo, claude, home, brokerUrl, entry } = options;
  const claudeRun = (args: string[]) => run(claude, args, { env: home.env, cwd: home.project, timeoutMs: 60_000 });

  const install = await duo(['install', '--yes', '--broker', brokerUrl], home);
  expect(install.code, install.output).toBe(0);
  expect(install.stdout).toContain(`"args":["${entry}","partner"]`);
  expect(install.stdout).toContain(`"alwaysLoad":true`);
  expect(install.stdout).toContain('✓ Added the duo MCP server.');

  const started = Date.now();
  const list = await claudeRun(['mcp', 'list']);
  const listMs = Date.now() - started;
  expect(list.code, list.output).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`^duo: node ${escape(entry)} partner - ✔ Connected$`, 'm'));
  expect(list.output).not.toMatch(/tsx/);

  // The partner Claude Code spawned found no broker and started one, detached.
  await waitFor(
    async () => (await duo(['broker', 'status', '--broker', brokerUrl], home)).code === 0,
    20_000,
    'the broker',
  );

  const get = await claudeRun(['mcp', 'get', 'duo']);
  expect(get.code, get.output).toBe(0);
  const answer = parseClaudeAnswer(get.stdout);
  expect(answer, get.stdout).toEqual({ scope: 'user', status: '✔ Connected', env: { BROKER_URL: brokerUrl } });

  const doctor = await duo(['doctor'], home);
  expect(doctor.stdout).toContain(`— broker ${brokerUrl}, project ${home.project}`);
  expect(doctor.stdout).toContain(
    `✓ Claude Code runs the duo partner: "duo" in ${home.home}/.claude.json — claude mcp get duo: ✔ Connected.`,
  );
  expect(doctor.stdout).toMatch(/✓ The broker answers at/);
  // `claude --version` read and compared with the first version that wakes idle sessions.
  expect(doctor.stdout).toMatch(/✓ Claude Code \d+\.\d+\.\d+ can wake an idle session/);
  expect(doctor.stdout).toMatch(/Everything needed works/);
  expect(doctor.code, doctor.output).toBe(0);

  const stop = await duo(['broker', 'stop'], home);
  expect(stop.code, stop.output).toBe(0);
  expect(stop.stdout).toMatch(/^Stopped the Duo broker \(pid \d+\)\.$/m);
  expect((await duo(['broker', 'status', '--broker', brokerUrl], home)).code).toBe(1);

  const uninstall = await duo(['uninstall', '--yes'], home);
  expect(uninstall.code, uninstall.output).toBe(0);
  expect(uninstall.stdout).toMatch(
    /✓ Removed the duo SessionStart, SessionEnd, Stop, PostToolUse, UserPromptSubmit hooks/,
  );
  expect(uninstall.stdout).toContain('✓ Removed the duo MCP server.');
  const after = await claudeRun(['mcp', 'list']);
  expect(after.stdout).not.toMatch(/^duo:/m);
  return { claudeMcpListMs: listMs };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
