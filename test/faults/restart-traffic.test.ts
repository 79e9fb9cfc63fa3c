/**
 * Restart under traffic: the broker restarts (SIGTERM and SIGKILL in turn) while two partners
 * exchange messages. Protocol-level clients first, then real partner processes driven over MCP
 * stdio, whose tool calls must fail fast while the broker is down.
 */
import { afterEach, expect, it } from 'vitest';
import { PARTNER_REQUEST_TIMEOUT_MS } from '../../src/shared/defaults.ts';
import { startBrokerProcess, testDbLocation, type BrokerProcess } from '../helpers/broker.ts';
import { register } from '../helpers/clients.ts';
import { ReliablePeer } from '../helpers/peer.ts';
import { figure, scale, sleep, waitFor } from '../helpers/scale.ts';
import {
  listenFor,
  messagesIn,
  startStdioPartner,
  type EnvelopedMessage,
  type StdioPartner,
} from '../helpers/stdio-partner.ts';

let broker: BrokerProcess | undefined;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await broker?.kill('SIGKILL');
  broker = undefined;
});

async function restart(signal: NodeJS.Signals): Promise<number> {
  const started = Date.now();
  await broker!.kill(signal);
  broker = await broker!.restart();
  return Date.now() - started;
}

const RESTARTS = scale(5, 20);
const PER_SIDE = scale(150, 1000);

it(
  `two WebSocket partners lose and duplicate nothing across ${RESTARTS} broker restarts`,
  { timeout: scale(90_000, 600_000) },
  async () => {
    broker = await startBrokerProcess({
      dbPath: await testDbLocation('duo-restart-'),
      env: { DUO_RATE_LIMIT: '100000' },
    });
    const alice = new ReliablePeer(broker.url, await register(broker.url, 'alice'));
    const bob = new ReliablePeer(broker.url, await register(broker.url, 'bob'));
    cleanup.push(
      () => alice.stop(),
      () => bob.stop(),
    );
    alice.start();
    bob.start();

    let progress = 0;
    const sender = async (from: ReliablePeer, to: string) => {
      for (let i = 0; i < PER_SIDE; i++) {
        await from.send({ to, content: `${from.partnerId}-${i}`, clientMsgId: `${from.partnerId}-${i}` });
        progress += 1;
        // A conversation, not a flood: leave room for the restarts to land mid-exchange.
        if (i % 10 === 0) await sleep(2);
      }
    };
    const traffic = Promise.all([sender(alice, 'bob'), sender(bob, 'alice')]);
    const restartMs: number[] = [];
    for (let r = 1; r <= RESTARTS; r++) {
      const at = Math.floor((r * 2 * PER_SIDE) / (RESTARTS + 1));
      await waitFor(() => progress >= at, 60_000, `progress ${at}`, 2);
      restartMs.push(await restart(r % 2 === 0 ? 'SIGKILL' : 'SIGTERM'));
    }
    await traffic;
    await alice.until(() => alice.received.length >= PER_SIDE, 20_000, 'all of bob');
    await bob.until(() => bob.received.length >= PER_SIDE, 20_000, 'all of alice');
    await sleep(200);

    const expected = (who: string) => Array.from({ length: PER_SIDE }, (_, i) => `${who}-${i}`);
    const lost = (peer: ReliablePeer, from: string) =>
      expected(from).filter((c) => !peer.received.some((m) => m.content === c)).length;
    const duplicated = (peer: ReliablePeer) => peer.received.length - new Set(peer.received.map((m) => m.content)).size;
    figure('restart under traffic (ws)', {
      restarts: RESTARTS,
      messages: 2 * PER_SIDE,
      lost: lost(alice, 'bob') + lost(bob, 'alice'),
      duplicated: duplicated(alice) + duplicated(bob),
      indeterminate: alice.stats.indeterminate + bob.stats.indeterminate,
      retryFoundOriginal: alice.stats.duplicatesAcked + bob.stats.duplicatesAcked,
      errorFrames: alice.stats.failed + bob.stats.failed,
      wireDuplicates: alice.stats.wireDuplicates + bob.stats.wireDuplicates,
      redelivered: alice.stats.redelivered + bob.stats.redelivered,
      reconnects: alice.stats.connects + bob.stats.connects - 2,
      restartMsMax: Math.max(...restartMs),
    });
    expect(bob.received.map((m) => m.content)).toEqual(expected('alice'));
    expect(alice.received.map((m) => m.content)).toEqual(expected('bob'));
    expect(alice.stats.orderViolations + bob.stats.orderViolations).toBe(0);
  },
);

const STDIO_RESTARTS = scale(2, 6);
const STDIO_PER_ROUND = scale(4, 10);

it(
  `real partners over MCP stdio: tools fail fast while the broker is down, nothing lost across ${STDIO_RESTARTS} restarts`,
  { timeout: scale(90_000, 300_000) },
  async () => {
    broker = await startBrokerProcess({ dbPath: await testDbLocation('duo-restart-stdio-') });
    const alice = await startStdioPartner(broker.url, { partnerId: 'alice' });
    const bob = await startStdioPartner(broker.url, { partnerId: 'bob' });
    cleanup.push(
      () => alice.close(),
      () => bob.close(),
    );
    const ready = async (partner: StdioPartner) =>
      waitFor(async () => !(await partner.call('list_partners')).isError, 20_000, `${partner.partnerId} ready`, 100);
    await ready(alice);
    await ready(bob);

    const sent: Record<string, string[]> = { alice: [], bob: [] };
    const downtimeCalls: number[] = [];
    const downtimeListens: number[] = [];
    // What each got so far: a talk's result carries the conversation's unread messages too.
    const got: Record<string, EnvelopedMessage[]> = { alice: [], bob: [] };
    let downtimeErrors = 0;
    const exchange = async (round: number) => {
      for (let i = 0; i < STDIO_PER_ROUND; i++) {
        for (const [from, to] of [
          [alice, 'bob'],
          [bob, 'alice'],
        ] as const) {
          const content = `${from.partnerId}-r${round}-${i}`;
          const result = await from.call('talk', { to, message: content });
          expect(result.isError, result.text).toBe(false);
          sent[from.partnerId]!.push(content);
          got[from.partnerId]!.push(...messagesIn(result.text));
        }
      }
    };

    for (let round = 0; round < STDIO_RESTARTS; round++) {
      await exchange(round);
      await broker.kill(round % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
      // While the broker is down every tool answers, with an error, within 5 s.
      const calls = await Promise.all([
        alice.call('talk', { to: 'bob', message: 'lost in the outage' }),
        bob.call('listen', { timeout: 30 }),
        alice.call('list_partners'),
        bob.call('history', { conversation: 'direct:alice:bob' }),
      ]);
      for (const [i, call] of calls.entries()) {
        // A listen waiting on an empty inbox rides out a short outage: it fails after its grace.
        (i === 1 ? downtimeListens : downtimeCalls).push(call.ms);
        if (call.isError) downtimeErrors += 1;
      }
      // listen answers from the inbox when it holds something: that is a read, not an outage error.
      const listened = messagesIn(calls[1]!.text);
      if (listened.length > 0) downtimeErrors += 1;
      got.bob!.push(...listened);
      broker = await broker.restart();
      await ready(alice);
      await ready(bob);
    }
    await exchange(STDIO_RESTARTS);

    const total = STDIO_PER_ROUND * (STDIO_RESTARTS + 1);
    const gotByBob = [...got.bob!, ...(await listenFor(bob, total - got.bob!.length, 20_000))];
    const gotByAlice = [...got.alice!, ...(await listenFor(alice, total - got.alice!.length, 20_000))];
    figure('restart under traffic (mcp stdio)', {
      restarts: STDIO_RESTARTS,
      messages: 2 * total,
      lost: 2 * total - new Set([...gotByBob, ...gotByAlice].map((m) => m.content)).size,
      duplicated:
        gotByBob.length + gotByAlice.length - new Set([...gotByBob, ...gotByAlice].map((m) => m.content)).size,
      downtimeCalls: downtimeCalls.length + downtimeListens.length,
      downtimeErrors,
      downtimeMsMax: Math.max(...downtimeCalls),
      downtimeListenMsMax: Math.max(...downtimeListens),
    });
    expect(downtimeErrors).toBe(downtimeCalls.length + downtimeListens.length);
    expect(Math.max(...downtimeCalls)).toBeLessThan(5_000);
    expect(Math.max(...downtimeListens)).toBeLessThan(2 * PARTNER_REQUEST_TIMEOUT_MS + 2_000);
    expect(gotByBob.map((m) => m.content)).toEqual(sent.alice);
    expect(gotByAlice.map((m) => m.content)).toEqual(sent.bob);
  },
);
