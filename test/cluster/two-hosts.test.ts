/**
 * Team mode across two machines, stood in for by two Linux network namespaces: one broker process
 * in each (TLS, access token, one PostgreSQL database reached through a forwarder on the host side
 * of its link), two real partner processes in the host namespace given both brokers. Mid-traffic
 * the cable of the partners' broker is pulled: it goes silent, neither refusing nor resetting. The
 * partners notice the silence, move to the other broker, and every message a `talk` acknowledged
 * arrives exactly once, in order. The surviving broker shows them online, and once the silent
 * broker's heartbeat has timed out, nothing of it lingers: a partner connected only to it is offline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/broker.ts';
import { createHosts, inHost, netnsSkipReason, removeHosts, unplug, type NetHost } from '../helpers/netns.ts';
import { createTestDatabase, postgresSkipReason, POSTGRES_ADMIN_URL } from '../helpers/postgres.ts';
import { figure } from '../helpers/scale.ts';
import {
  callUntilOk,
  listenFor,
  startStdioPartner,
  type EnvelopedMessage,
  type StdioPartner,
  talkUntilAcked,
} from '../helpers/stdio-partner.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { makeCertificate, opensslMissing } from '../helpers/tls-cert.ts';

const skip =
  netnsSkipReason() ??
  (opensslMissing ? 'openssl is not installed, so no certificate can be made' : undefined) ??
  (await postgresSkipReason());
const PER_PARTNER = 30;
const PORT = 3210;
const TOKEN = 'a-team-access-token-of-32-chars!';
const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

interface HostBroker {
  url: string;
  child: ChildProcess;
  output: () => string;
}

/** GET `path` of a broker over https, trusting only the test certificate. */
function health(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { ca, headers: { 'x-duo-token': TOKEN }, timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** `duo broker` from dist/, run inside the host's namespace, its database reached through `dbUrl`. */
async function startHostBroker(host: NetHost, dbUrl: string, tls: { cert: string; key: string }): Promise<HostBroker> {
  const home = tempDir('duo-netns-broker-');
  const [command, args] = inHost(host, process.execPath, [
    cli,
    'broker',
    '--host',
    host.ip,
    '--port',
    String(PORT),
    '--tls-cert',
    tls.cert,
    '--tls-key',
    tls.key,
  ]);
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      DUO_TOKEN: TOKEN,
      DUO_DB: dbUrl,
      DUO_LOG_LEVEL: 'warn',
      DUO_LOOP_GUARD: 'off',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `https://${host.ip}:${PORT}`;
  const ca = readFileSync(tls.cert);
  const deadline = Date.now() + 20_000;
  while (!(await health(url, ca))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the broker in ${host.ns} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child, output: () => output };
}

/** The partners `observer` sees online and offline, by id. */
async function presence(observer: StdioPartner): Promise<Record<string, boolean>> {
  const { text } = await callUntilOk(observer, 'list_partners');
  return Object.fromEntries([...text.matchAll(/^(🟢|⚪) ([\w-]+)/gmu)].map((m) => [m[2]!, m[1] === '🟢']));
}

describe.skipIf(skip !== undefined)(`a team on two hosts${skip ? ` — skipped: ${skip}` : ''}`, () => {
  const cleanup: Array<() => unknown> = [];
  afterAll(async () => {
    for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => {});
  });

  it(
    `loses and duplicates nothing acknowledged when the partners' host loses its network mid-traffic (${PER_PARTNER} messages each way)`,
    { timeout: 120_000 },
    async () => {
      const started = Date.now();
      const hosts = createHosts(2);
      cleanup.push(() => removeHosts(hosts));
      const [hostA, hostB] = hosts as [NetHost, NetHost];
      const database = await createTestDatabase();
      cleanup.push(() => database.drop());
      const pgPort = Number(new URL(POSTGRES_ADMIN_URL).port || 5432);
      const dir = tempDir('duo-netns-');
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const tls = makeCertificate(dir, [`IP:${hostA.ip}`, `IP:${hostB.ip}`]);

      const brokers: HostBroker[] = [];
      for (const host of hosts) {
        // PostgreSQL listens on loopback only: each host reaches it through its own link.
        const forwarder = await TcpProxy.start(pgPort, '127.0.0.1', 0, host.hostIp);
        cleanup.push(() => forwarder.close());
        const dbUrl = new URL(database.url);
        dbUrl.host = `${host.hostIp}:${forwarder.port}`;
        // Another host's database needs its TLS settings said; this link is private to the test.
        dbUrl.searchParams.set('sslmode', 'disable');
        const broker = await startHostBroker(host, dbUrl.toString(), tls);
        cleanup.push(() => broker.child.kill('SIGKILL'));
        brokers.push(broker);
      }
      const [a, b] = brokers as [HostBroker, HostBroker];

      const env = { DUO_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: tls.cert };
      const start = async (partnerId: string, brokerUrl: string) => {
        const partner = await startStdioPartner(brokerUrl, { partnerId, env });
        cleanup.push(() => partner.close());
        await callUntilOk(partner, 'list_partners', {}, 30_000);
        return partner;
      };
      // Alice and bob start on A, the first of their list; dave knows only A, carol only B.
      const [alice, bob, carol] = await Promise.all([
        start('alice', `${a.url},${b.url}`),
        start('bob', `${a.url},${b.url}`),
        start('carol', b.url),
        start('dave', a.url),
      ]);
      await expect
        .poll(() => presence(carol), { timeout: 15_000 })
        .toMatchObject({ alice: true, bob: true, dave: true });
      const setupMs = Date.now() - started;

      const acked: Record<string, string[]> = { alice: [], bob: [] };
      // What each read so far: a talk's result carries the conversation's unread messages too.
      const got: Record<string, EnvelopedMessage[]> = { alice: [], bob: [] };
      let failedCalls = 0;
      let unpluggedAt = 0;
      // How long after the cable is pulled B stops showing dave (on A alone) online: A's heartbeat timeout.
      let daveOffline: Promise<number | undefined> = Promise.resolve(undefined);
      const whenDaveOffline = async () => {
        while (Date.now() - unpluggedAt < 30_000) {
          if ((await presence(carol)).dave === false) return Date.now() - unpluggedAt;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        return undefined;
      };
      const third = Math.floor(PER_PARTNER / 3);
      const sendAll = async (from: StdioPartner, to: string) => {
        for (let i = 0; i < PER_PARTNER; i++) {
          if (from === alice && i === third) {
            unplug(hostA);
            unpluggedAt = Date.now();
            daveOffline = whenDaveOffline();
          }
          const content = `${from.partnerId}-${i}`;
          failedCalls += await talkUntilAcked(from, to, content, got[from.partnerId]);
          acked[from.partnerId]!.push(content);
        }
      };
      const sending = Date.now();
      await Promise.all([sendAll(alice, 'bob'), sendAll(bob, 'alice')]);
      const sendMs = Date.now() - sending;

      const gotByBob = [...got.bob!, ...(await listenFor(bob, PER_PARTNER - got.bob!.length, 30_000))];
      const gotByAlice = [...got.alice!, ...(await listenFor(alice, PER_PARTNER - got.alice!.length, 30_000))];
      const contents = (list: { content: string }[]) => list.map((m) => m.content);
      expect(contents(gotByBob)).toEqual(acked.alice);
      expect(contents(gotByAlice)).toEqual(acked.bob);

      // B shows the partners that moved to it online, and once A's heartbeat has timed out nothing
      // of A lingers: dave, connected to A alone, is offline.
      await expect
        .poll(() => presence(carol), { timeout: 20_000 })
        .toMatchObject({ alice: true, bob: true, carol: true, dave: false });
      const daveOfflineMs = await daveOffline;
      expect(daveOfflineMs, 'dave went offline on B within 30 s of the cable pulled').toBeDefined();
      const history = await callUntilOk(alice, 'history', { conversation: 'direct:alice:bob', limit: 200 });
      for (const content of [...acked.alice!, ...acked.bob!])
        expect(history.text.split(`\n${content}\n`).length - 1, content).toBe(1);
      figure('team on two hosts (cable pulled mid-traffic)', {
        messages: 2 * PER_PARTNER,
        failedCalls,
        redelivered: [...gotByBob, ...gotByAlice].filter((m) => m.redelivered).length,
        setupMs,
        sendMs,
        daveOfflineOnBAfterMs: daveOfflineMs,
        totalMs: Date.now() - started,
      });
    },
  );
});
