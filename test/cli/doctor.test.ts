import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, DUO_BIN, DUO_HOOKS_BIN, runDuo } from '../helpers/cli.ts';
import { installFakeClaude } from '../helpers/fake-claude.ts';
import { reportNode } from '../../src/cli/commands/doctor.ts';

describe('duo doctor on Node.js', () => {
  const said = (version: string) => {
    const lines: string[] = [];
    reportNode(version, (level, text, fix) => lines.push(`${level}: ${text}${fix ? ` → ${fix}` : ''}`));
    return lines;
  };

  it('is content with the versions CI tests', () => {
    expect(said('26.12.1')).toEqual(['ok: Node.js 26.12.1 is supported.']);
    expect(said('24.22.3')).toEqual(['ok: Node.js 24.22.3 is supported.']);
    expect(said('22.23.5')).toEqual(['ok: Node.js 22.23.5 is supported.']);
  });

  it('warns on any other, saying which to install', () => {
    expect(said('20.20.2')).toEqual([
      'warn: Node.js 20.20.2 runs duo here; Claude Duo is tested on Node 22, 24 or 26. → Install Node 22, 24 or 26 (LTS) and make it the node on your PATH.',
    ]);
    expect(said('27.0.0')[0]).toMatch(/^warn: Node\.js 27\.0\.0 runs duo here/);
  });
});

describe('duo doctor', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('reports a stopped broker clearly and exits non-zero', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const h = cliHome(down);
    const run = await runDuo(['doctor'], { env: h.env, cwd: h.project('alice') });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /✗ The Duo broker at http:\/\/127\.0\.0\.1:\d+ is not reachable\. Start it with `duo broker`/,
    );
    expect(run.stdout).toMatch(/✗ No secret stored for partner "alice"/);
    expect(run.stdout).toMatch(/problems? to fix/);
  });

  it('with autostart on, a loopback broker that is not running yet is normal: the first partner starts one', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const h = cliHome(down);
    delete h.env.DUO_AUTOSTART;
    const run = await runDuo(['doctor'], { env: h.env, cwd: h.project('alice') });
    expect(run.stdout).toContain(`✓ No broker yet at ${down}; the first partner starts one (or \`duo broker\`).`);
    expect(run.stdout).not.toMatch(/not reachable/);
    // Doctor only looks: it starts no broker itself.
    expect(
      await fetch(`${down}/health`).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    // What is broken is the setup of this fresh home, not the broker.
    expect(run.stdout.split('\n').filter((line) => line.startsWith('✗'))).toEqual([
      expect.stringMatching(/^✗ No secret stored for partner "alice"/),
      expect.stringMatching(/^✗ Claude Code does not run the duo partner/),
    ]);
  });

  it('passes once the broker runs, the partner is registered and Claude Code is set up', async () => {
    const h = cliHome(broker.url);
    const project = h.project('alice');
    const fake = installFakeClaude(h.home);
    const env = { ...h.env, PATH: `${fake.binDir}:/usr/bin:/bin`, FAKE_CLAUDE_LOG: fake.log };
    expect((await runDuo(['register'], { env, cwd: project })).code).toBe(0);
    expect((await runDuo(['install', '--yes', '--scope', 'project'], { env, cwd: project })).code).toBe(0);
    const run = await runDuo(['doctor'], { env, cwd: project });
    expect(run.stdout).toMatch(/✓ The broker answers at/);
    expect(run.stdout).toContain(`Node.js ${process.versions.node}`);
    expect(run.stdout).toMatch(/✓ The broker accepts the stored secret of "alice" \(offline now\)/);
    expect(run.stdout).toMatch(/✓ Claude Code runs the duo partner: "duo" in .*\.mcp\.json/);
    expect(run.stdout).toMatch(
      /✓ The duo hooks SessionStart, SessionEnd, Stop, PostToolUse, UserPromptSubmit are installed \(.*\.claude\/settings\.json\)/,
    );
    expect(run.stdout).toMatch(
      /✓ Claude Code 2\.1\.332 can wake an idle session when a message arrives \(from 2\.1\.64 on\)/,
    );
    // With the hooks, channels are not needed: no warning about them.
    expect(run.stdout).not.toMatch(/channels/i);
    expect(run.code, run.stdout).toBe(0);
  });

  it('names each missing hook and what it costs, and an older Claude Code that cannot wake idle sessions', async () => {
    const h = cliHome(broker.url);
    const project = h.project('carol');
    const fake = installFakeClaude(h.home);
    const env = {
      ...h.env,
      PATH: `${fake.binDir}:/usr/bin:/bin`,
      FAKE_CLAUDE_LOG: fake.log,
      FAKE_CLAUDE_VERSION: '2.1.63',
    };
    expect((await runDuo(['register'], { env, cwd: project })).code).toBe(0);
    expect((await runDuo(['install', '--yes'], { env, cwd: project })).code).toBe(0);
    // Someone removed two of the hooks by hand.
    const file = join(h.home, '.claude', 'settings.json');
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    delete settings.hooks.Stop;
    delete settings.hooks.PostToolUse;
    writeFileSync(file, JSON.stringify(settings));
    const run = await runDuo(['doctor'], { env, cwd: project });
    expect(run.stdout).toMatch(/✓ The duo hooks SessionStart, SessionEnd, UserPromptSubmit are installed/);
    expect(run.stdout).toMatch(
      /! The duo Stop hook \("duo hook wait"\) is not installed: an idle session is not woken when a message arrives\.\n {2}→ Run `duo install`/,
    );
    expect(run.stdout).toMatch(
      /! The duo PostToolUse hook \("duo hook post-tool-use"\) is not installed: a working session/,
    );
    expect(run.stdout).toMatch(
      /! Claude Code 2\.1\.63 is older than 2\.1\.64: idle sessions will not be woken; a message waits for the session's next prompt or tool call\.\n {2}→ Update Claude Code/,
    );
    // What this install wrote runs the hooks' own entry: nothing to bring up to date.
    expect(run.stdout).not.toMatch(/run duo's main entry/);
    // Warnings only: it still works.
    expect(run.code, run.stdout).toBe(0);
  });

  it('names the hooks an earlier install wrote through the main entry, and duo install brings them up to date', async () => {
    const h = cliHome(broker.url);
    const project = h.project('erin');
    const env = { ...h.env, PATH: join(h.home, 'none') };
    expect((await runDuo(['install', '--yes'], { env, cwd: project })).code).toBe(0);
    const file = join(h.home, '.claude', 'settings.json');
    const settings = JSON.parse(readFileSync(file, 'utf8'));
    for (const event of ['SessionStart', 'PostToolUse']) {
      const hook = settings.hooks[event][0].hooks[0];
      hook.command = hook.command.replace(DUO_HOOKS_BIN, DUO_BIN);
    }
    writeFileSync(file, JSON.stringify(settings));
    const before = await runDuo(['doctor'], { env, cwd: project });
    expect(before.stdout).toMatch(
      /! The duo hooks SessionStart, PostToolUse run duo's main entry \(main\.js\), which starts slower at every hook than the hooks' own entry \(hook\.cjs\)\.\n {2}→ Run `duo install` to bring them up to date\./,
    );
    expect((await runDuo(['install', '--yes'], { env, cwd: project })).code).toBe(0);
    const after = await runDuo(['doctor'], { env, cwd: project });
    expect(after.stdout).not.toMatch(/run duo's main entry/);
  });

  it('fails on a duo Stop hook that is not async: it would hold every session at the end of each turn', async () => {
    const h = cliHome(broker.url);
    const project = h.project('dave');
    const file = join(h.home, '.claude', 'settings.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'duo hook wait' }] }] } }),
    );
    const run = await runDuo(['doctor'], { env: h.env, cwd: project });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ The duo Stop hook in .* lacks "async": true \/ "asyncRewake": true/);
  });

  it('says when the broker no longer accepts the stored secret', async () => {
    const h = cliHome(broker.url);
    const project = h.project('bob');
    expect((await runDuo(['register'], { env: h.env, cwd: project })).code).toBe(0);
    const secrets = join(h.env.XDG_CONFIG_HOME!, 'claude-duo', 'secrets.json');
    writeFileSync(secrets, readFileSync(secrets, 'utf8').replace(/"secret": "[^"]+"/, '"secret": "not-the-real-one"'));
    const run = await runDuo(['doctor'], { env: h.env, cwd: project });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/✗ The broker does not accept the stored secret of "bob"/);
    expect(run.stdout).toMatch(/✗ Claude Code does not run the duo partner[\s\S]*→ Run `duo install`/);
  });
});
