/**
 * Crash burst: the broker is SIGKILLed at random moments while one client sends a numbered burst
 * with clientMsgId retries, and restarted on the same database and port each time. Every
 * acknowledged message must reach the recipient exactly once and in order, and the database must
 * pass integrity_check afterwards.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker.ts';
import { register } from '../helpers/clients.ts';
import { ReliablePeer } from '../helpers/peer.ts';
import { figure, scale, sleep } from '../helpers/scale.ts';

const MESSAGES = scale(300, 1000);
const KILLS = scale(20, 100);

let broker: BrokerProcess | undefined;
let bob: ReliablePeer | undefined;
afterAll(async () => {
  bob?.stop();
  await broker?.kill('SIGKILL');
});

type Outcome = 'acked' | 'failed' | 'indeterminate';

/** One POST /talk attempt, classified by what the client can know about it. */
async function attempt(
  url: string,
  secret: string,
  body: object,
): Promise<{ outcome: Outcome; reply?: any; status?: number }> {
  try {
    const response = await fetch(`${url}/talk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const reply = await response.json();
    return { outcome: response.ok ? 'acked' : 'failed', reply, status: response.status };
  } catch (error) {
    // Refused: the request never reached a broker. Anything else: it may have been stored.
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return { outcome: code === 'ECONNREFUSED' ? 'failed' : 'indeterminate' };
  }
}

it(
  `every acknowledged message survives ${KILLS} SIGKILLs exactly once, in order`,
  { timeout: scale(150_000, 900_000) },
  async () => {
    const dbPath = join(tempDir('duo-crash-'), 'duo.db');
    broker = await startBrokerProcess({ dbPath, env: { DUO_RATE_LIMIT: '100000' } });
    const url = broker.url;
    const alice = await register(url, 'alice');
    const bobId = await register(url, 'bob');
    bob = new ReliablePeer(url, bobId);
    bob.start();

    const counts: Record<Outcome, number> = { acked: 0, failed: 0, indeterminate: 0 };
    const statuses: Record<string, number> = {};
    const acked: Array<{ index: number; messageId: number; duplicate: boolean }> = [];
    let progress = 0;

    const killPoints = new Set<number>();
    while (killPoints.size < KILLS) killPoints.add(1 + Math.floor(Math.random() * (MESSAGES - 1)));
    const schedule = [...killPoints].sort((a, b) => a - b);

    // Every kill point lies inside the burst, so each is reached; the last ones may land after it.
    const killer = (async () => {
      let kills = 0;
      for (const point of schedule) {
        while (progress < point) await sleep(1);
        // Land somewhere inside a request or a commit, not always on a message boundary.
        await sleep(Math.random() * 4);
        await broker!.kill('SIGKILL');
        kills += 1;
        broker = await broker!.restart();
      }
      return kills;
    })();

    const started = Date.now();
    for (let index = 0; index < MESSAGES; index++) {
      const body = { to: 'bob', content: `burst ${index}`, clientMsgId: `burst-${index}` };
      for (;;) {
        const result = await attempt(url, alice.secret, body);
        counts[result.outcome] += 1;
        if (result.status !== undefined && result.status !== 200)
          statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        if (result.outcome === 'acked') {
          acked.push({ index, messageId: result.reply.messageId, duplicate: result.reply.duplicate });
          break;
        }
        await sleep(20);
      }
      progress = index + 1;
    }
    const kills = await killer;
    const sendMs = Date.now() - started;

    await bob.until(() => bob!.received.length >= MESSAGES, 30_000, `all ${MESSAGES} messages`);
    await sleep(200);
    const received = bob.received;
    const byContent = new Map<string, number>();
    for (const message of received) byContent.set(message.content, (byContent.get(message.content) ?? 0) + 1);
    const lost = acked.filter((a) => !byContent.has(`burst ${a.index}`)).length;
    const duplicated = [...byContent.values()].filter((n) => n > 1).length;
    const ackedIdsMatch = acked.every(
      (a) => received.find((m) => m.content === `burst ${a.index}`)?.id === a.messageId,
    );

    await broker.kill('SIGKILL');
    const sqlite = new SQLite(dbPath);
    const integrity = sqlite.pragma('integrity_check', { simple: true });
    const stored = sqlite
      .prepare("SELECT count(*) AS n, count(DISTINCT content) AS d FROM messages WHERE sender = 'alice'")
      .get() as { n: number; d: number };
    sqlite.close();
    broker = undefined;

    figure('crash burst', {
      messages: MESSAGES,
      kills,
      attempts: counts.acked + counts.failed + counts.indeterminate,
      acked: counts.acked,
      failed: counts.failed,
      indeterminate: counts.indeterminate,
      retryFoundOriginal: acked.filter((a) => a.duplicate).length,
      errorStatuses: JSON.stringify(statuses),
      delivered: received.length,
      lost,
      duplicated,
      storedRows: stored.n,
      wireDuplicates: bob.stats.wireDuplicates,
      reconnects: bob.stats.connects - 1,
      integrity,
      sendSeconds: sendMs / 1000,
    });

    expect(kills).toBe(KILLS);
    expect(acked).toHaveLength(MESSAGES);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(received.map((m) => m.content)).toEqual(acked.map((a) => `burst ${a.index}`));
    expect(bob.stats.orderViolations).toBe(0);
    expect(ackedIdsMatch).toBe(true);
    expect(stored).toEqual({ n: MESSAGES, d: MESSAGES });
    expect(integrity).toBe('ok');
  },
);
