/**
 * The broker starts itself: partners and commands that find no broker at a loopback BROKER_URL
 * start one, detached, and many starting at once leave exactly one. Never with DUO_AUTOSTART=0,
 * never for a URL on another machine. `duo broker status` and `duo broker stop` manage what was
 * started.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBroker, loopbackTarget } from '../../src/client/autostart.ts';
import { freePort } from '../helpers/broker.ts';
import { DUO_BIN, runDuo } from '../helpers/cli.ts';
import { figure, sleep, waitFor } from '../helpers/scale.ts';
import { startStdioPartner, type StdioPartner } from '../helpers/stdio-partner.ts';

/** Pids of live processes running `duo broker --port <port>` (zombies, already exited, excluded). */
function brokerPids(port: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  const pids: number[] = [];
  for (const line of table.split('\n')) {
    const match = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match || match[2]!.startsWith('Z')) continue;
    if (new RegExp(`\\sbroker --port ${port}(\\s|$)`).test(match[3]!)) pids.push(Number(match[1]));
  }
  return pids;
}

/** HOME and XDG folders of one user, shared by every process of a test. */
function userEnv(home: string, brokerUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    BROKER_URL: brokerUrl,
    DUO_LOG_LEVEL: 'warn',
  };
}

const started: number[] = [];
afterAll(() => {
  // Whatever a failed test left running.
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('broker autostart', () => {
  it('five partners starting at once with no broker: one broker, and every partner works', async () => {
    const home = mkdtempSync(join(tmpdir(), 'duo-autostart-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = userEnv(home, url);
    const partners: StdioPartner[] = [];
    try {
      const t0 = Date.now();
      partners.push(
        ...(await Promise.all(
          ['p1', 'p2', 'p3', 'p4', 'p5'].map((id) =>
            startStdioPartner(url, { partnerId: id, home, env: { DUO_AUTOSTART: '1', DUO_LOG_LEVEL: 'warn' } }),
          ),
        )),
      );
      // Each partner answered MCP initialize without waiting for the broker.
      const initializedMs = Date.now() - t0;
      for (const partner of partners) {
        await waitFor(
          async () => !(await partner.call('list_partners')).isError,
          30_000,
          `${partner.partnerId} registered`,
          100,
        );
      }
      const readyMs = Date.now() - t0;
      const listing = await partners[0]!.call('list_partners');
      for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) expect(listing.text).toContain(id);
      await sleep(500); // a loser of a start race would have exited by now
      const pids = brokerPids(port);
      started.push(...pids);
      expect(pids).toHaveLength(1);
      for (const partner of partners) expect(partner.stderr()).not.toMatch(/error/i);
      // Only one broker was ever spawned: none had to lose a race for the port or the database.
      const log = readFileSync(join(home, '.local', 'state', 'claude-duo', 'broker.log'), 'utf8');
      expect(log).not.toMatch(/Another broker|EADDRINUSE/);
      figure('autostart, five partners', { brokers: pids.length, initializedMs, readyMs });

      const status = await runDuo(['broker', 'status'], { env, cwd: home });
      expect(status.code, status.stdout + status.stderr).toBe(0);
      expect(status.stdout).toContain(`✓ A Duo broker answers at ${url}`);
      expect(status.stdout).toContain(`pid ${pids[0]}, database ${join(home, 'data', 'claude-duo', 'duo.db')}`);
      const stop = await runDuo(['broker', 'stop'], { env, cwd: home });
      expect(stop.code, stop.stdout + stop.stderr).toBe(0);
      expect(stop.stdout).toBe(`Stopped the Duo broker (pid ${pids[0]}).\n`);
      expect(brokerPids(port)).toEqual([]);
      expect((await runDuo(['broker', 'status'], { env, cwd: home })).code).toBe(1);
    } finally {
      await Promise.all(partners.map((partner) => partner.close()));
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);

  it('a client that lists the tools and leaves at once (a health check) still gets its broker started', async () => {
    const home = mkdtempSync(join(tmpdir(), 'duo-autostart-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = userEnv(home, url);
    mkdirSync(join(home, 'project'));
    try {
      const child = spawn(process.execPath, [DUO_BIN, 'partner'], { cwd: join(home, 'project'), env, stdio: 'pipe' });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const frames = [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'check', version: '1' } },
        },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ];
      // Everything at once, then stdin closes: the partner is told to go as it starts registering.
      child.stdin.end(frames.map((frame) => `${JSON.stringify(frame)}\n`).join(''));
      expect(await exited).toBe(0);
      const pids = brokerPids(port);
      started.push(...pids);
      expect(pids).toHaveLength(1);
      expect((await runDuo(['broker', 'stop'], { env, cwd: home })).code).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('five commands at once with no broker: one broker, every command succeeds', async () => {
    const home = mkdtempSync(join(tmpdir(), 'duo-autostart-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = userEnv(home, url);
    try {
      const runs = await Promise.all(
        [1, 2, 3, 4, 5].map((i) => runDuo(['register', '--as', `cli-${i}`], { env, cwd: home, timeoutMs: 40_000 })),
      );
      const pids = brokerPids(port);
      started.push(...pids);
      for (const result of runs) expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(runs.filter((r) => /started a broker at/.test(r.stderr))).toHaveLength(1);
      expect(pids).toHaveLength(1);
      expect((await runDuo(['broker', 'stop'], { env, cwd: home })).code).toBe(0);
      expect(brokerPids(port)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 90_000);

  it('DUO_AUTOSTART=0: no broker is started, and the error says how to start one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'duo-autostart-'));
    const port = await freePort();
    try {
      const env = { ...userEnv(home, `http://127.0.0.1:${port}`), DUO_AUTOSTART: '0' };
      const result = await runDuo(['register', '--as', 'nobody'], { env, cwd: home });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/is not reachable\. Start it with `duo broker`/);
      expect(brokerPids(port)).toEqual([]);
      expect(existsSync(join(home, '.local', 'state', 'claude-duo'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);

  it('never for a URL on another machine, nor for https, nor for a list of brokers (a team runs those)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'duo-autostart-'));
    const env = { HOME: home, XDG_STATE_HOME: join(home, 'state') };
    try {
      for (const url of [
        'http://10.1.2.3:3210',
        'http://duo.example.com:3210',
        'https://localhost:3210',
        'http://127.0.0.1:3210,http://127.0.0.1:3211',
      ]) {
        expect(await ensureBroker(url, { env })).toBe('remote');
      }
      expect(await ensureBroker('http://127.0.0.1:9', { env: { ...env, DUO_AUTOSTART: 'false' } })).toBe('disabled');
      expect(existsSync(join(home, 'state'))).toBe(false);
      expect(loopbackTarget('http://localhost:3210')).toEqual({ host: '127.0.0.1', port: 3210 });
      expect(loopbackTarget('http://[::1]:4000')).toEqual({ host: '::1', port: 4000 });
      expect(loopbackTarget('http://127.0.0.2:5000/')).toEqual({ host: '127.0.0.2', port: 5000 });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
