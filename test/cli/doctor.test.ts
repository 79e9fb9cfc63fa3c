import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, runDuo } from '../helpers/cli.ts';
import { installFakeClaude } from '../helpers/fake-claude.ts';

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

  it('passes once the broker runs, the partner is registered and Claude Code is set up', async () => {
    const h = cliHome(broker.url);
    const project = h.project('alice');
    const fake = installFakeClaude(h.home);
    const env = { ...h.env, PATH: `${fake.binDir}:/usr/bin:/bin`, FAKE_CLAUDE_LOG: fake.log };
    expect((await runDuo(['register'], { env, cwd: project })).code).toBe(0);
    expect((await runDuo(['install', '--yes', '--scope', 'project'], { env, cwd: project })).code).toBe(0);
    const run = await runDuo(['doctor'], { env, cwd: project });
    expect(run.stdout).toMatch(/✓ The broker answers at/);
    expect(run.stdout).toMatch(/✓ The broker accepts the stored secret of "alice" \(offline now\)/);
    expect(run.stdout).toMatch(/✓ Claude Code runs the duo partner: "duo" in .*\.mcp\.json/);
    expect(run.stdout).toMatch(/✓ The SessionStart \/ SessionEnd hooks are installed/);
    expect(run.code, run.stdout).toBe(0);
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
