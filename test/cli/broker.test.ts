/**
 * `duo broker status` and `duo broker stop`: found through the pid lock file the broker keeps
 * next to its database, whoever started it; a process that is not a broker is never signalled.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startBroker, startBrokerProcess } from '../helpers/broker.ts';
import { cliHome, runDuo } from '../helpers/cli.ts';
import { register, talk } from '../helpers/clients.ts';

describe('duo broker status and stop', () => {
  it('says when no broker answers, and stop has nothing to do', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const h = cliHome(url);
    const status = await runDuo(['broker', 'status'], { env: h.env, cwd: h.home });
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`✗ No Duo broker answers at ${url}.`);
    expect(status.stdout).toMatch(/start one by themselves when they need it \(unless DUO_AUTOSTART=0\)/);
    const stop = await runDuo(['broker', 'stop'], { env: h.env, cwd: h.home });
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/^No Duo broker is running on .*duo\.db\.$/m);
  });

  it('finds a running broker by its database lock and stops it with SIGTERM', async () => {
    const h = cliHome();
    const dbPath = join(h.env.XDG_DATA_HOME!, 'claude-duo', 'duo.db');
    const broker = await startBrokerProcess({ dbPath, env: { XDG_DATA_HOME: h.env.XDG_DATA_HOME! } });
    const env = { ...h.env, BROKER_URL: broker.url };
    const status = await runDuo(['broker', 'status'], { env, cwd: h.home });
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`✓ A Duo broker answers at ${broker.url} \\(version \\S+, up \\d+ s\\)`));
    expect(status.stdout).toContain(`pid ${broker.child.pid}, database ${dbPath}`);

    const exited = new Promise<number | null>((resolve) =>
      broker.child.exitCode === null
        ? broker.child.once('exit', (code) => resolve(code))
        : resolve(broker.child.exitCode),
    );
    const stop = await runDuo(['broker', 'stop'], { env, cwd: h.home });
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout).toBe(`Stopped the Duo broker (pid ${broker.child.pid}).\n`);
    expect(await exited).toBe(0);
    expect((await runDuo(['broker', 'status'], { env, cwd: h.home })).code).toBe(1);
  });

  it('prints the main figures of GET /metrics, with the metrics token beyond loopback', async () => {
    const broker = await startBroker();
    const remote = await startBroker({
      host: '0.0.0.0',
      token: 'an-access-token-of-32-characters',
      allowPlainHttp: true,
      metricsToken: 'a-metrics-token-of-32-characters',
    });
    try {
      const alice = await register(broker.url, 'alice');
      await register(broker.url, 'bob');
      for (let i = 0; i < 3; i++)
        expect((await talk(broker.url, alice, { to: 'bob', content: `m${i}` })).status).toBe(200);
      const h = cliHome(broker.url);
      const status = await runDuo(['broker', 'status'], { env: h.env, cwd: h.home });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('  Messages: 3 stored since start (WebSocket 0, REST 3, console 0)\n');
      expect(status.stdout).toContain('  Open now: 0 sessions, 0 long-polls, 0 watchers\n');
      expect(status.stdout).toContain('  Loop-guard holds: 0; failed authentications: 0\n');

      const far = cliHome(remote.url);
      const refused = await runDuo(['broker', 'status'], { env: far.env, cwd: far.home });
      expect(refused.code).toBe(0);
      expect(refused.stdout).toContain(
        '  Metrics: GET /metrics needs "Authorization: Bearer <DUO_METRICS_TOKEN>" (the metrics token the broker was started with).\n',
      );
      const shown = await runDuo(['broker', 'status', '--metrics-token', 'a-metrics-token-of-32-characters'], {
        env: far.env,
        cwd: far.home,
      });
      expect(shown.stdout).toContain('  Messages: 0 stored since start');
    } finally {
      await Promise.all([broker.close(), remote.close()]);
    }
  });

  it('never signals a process that holds the lock but is not a broker', async () => {
    const h = cliHome(`http://127.0.0.1:${await freePort()}`);
    const dir = join(h.env.XDG_DATA_HOME!, 'claude-duo');
    mkdirSync(dir, { recursive: true });
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'duo.db.lock'), String(other.pid));
      const stop = await runDuo(['broker', 'stop'], { env: h.env, cwd: h.home });
      expect(stop.code).toBe(1);
      expect(stop.stderr).toMatch(new RegExp(`pid ${other.pid} holds .* but does not look like a Duo broker`));
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      other.kill();
    }
  });

  it('on PostgreSQL, status names the shared database without its password, and stop says how to stop it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const h = cliHome(url);
    const env = { ...h.env, DUO_DB: 'postgres://duo:s3cret-pass@db.internal:5432/duo' };
    const stop = await runDuo(['broker', 'stop'], { env, cwd: h.home });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/a broker on PostgreSQL holds no lock file .* SIGTERM to its process/);
    const status = await runDuo(['broker', 'status'], { env, cwd: h.home });
    expect(status.code).toBe(1);
    expect(status.stdout + status.stderr).not.toContain('s3cret-pass');
  });

  it('rejects an unknown action with the usage', async () => {
    const h = cliHome();
    const result = await runDuo(['broker', 'restart'], { env: h.env, cwd: h.home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the actions are status and stop/);
    expect(result.stderr).toMatch(/Usage: duo broker/);
  });
});
