/**
 * `redelivered` across broker crashes: the broker is SIGKILLed while messages are being pushed to
 * a partner that reads but never acknowledges. After each restart the partner reconnects holding
 * nothing (`since` 0), and every replayed message it had been pushed before must carry
 * `redelivered`; messages sent while it was away, never pushed, must not.
 */
import { afterEach, expect, it } from 'vitest';
import { startBrokerProcess, testDbLocation, type BrokerProcess } from '../helpers/broker.ts';
import { connect, register, type Registered, type WsClient } from '../helpers/clients.ts';
import { figure, scale, sleep } from '../helpers/scale.ts';

const KILLS = scale(5, 20);
const BURST = 60;

let broker: BrokerProcess | undefined;
let bobSocket: WsClient | undefined;
afterEach(async () => {
  bobSocket?.close();
  await broker?.kill('SIGKILL');
  broker = undefined;
});

/** Sends numbered messages from alice to bob until `stop()` says so; returns how many were acknowledged. */
async function sendUntil(url: string, alice: Registered, prefix: string, stop: () => boolean): Promise<number> {
  let acked = 0;
  for (let i = 0; !stop(); i++) {
    try {
      const response = await fetch(`${url}/talk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'bob', content: `${prefix}-${i}` }),
      });
      if (response.ok) acked += 1;
    } catch {
      return acked;
    }
  }
  return acked;
}

it(
  `flags every replayed message that was pushed before a SIGKILL as redelivered (${KILLS} kills)`,
  { timeout: scale(120_000, 400_000) },
  async () => {
    broker = await startBrokerProcess({
      dbPath: await testDbLocation('duo-redelivered-'),
      env: { DUO_RATE_LIMIT: '100000' },
    });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    /** Every message id bob was ever pushed, by any broker run. */
    const pushedEver = new Set<number>();
    const tally = { replayed: 0, replayedPushedBefore: 0, flagged: 0, missingFlag: 0, awayFlagged: 0, away: 0 };

    for (let round = 0; round <= KILLS; round++) {
      // Sent while bob is away: stored, never pushed.
      const awayContents = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const content = `away-${round}-${i}`;
        awayContents.add(content);
        await fetch(`${broker.url}/talk`, {
          method: 'POST',
          headers: { authorization: `Bearer ${alice.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: 'bob', content }),
        });
      }
      // Bob restarts holding nothing, and is replayed everything unread.
      bobSocket = await connect(broker.url, bob, 0);
      const socket = bobSocket;
      const before = new Set(pushedEver);
      await socket.until(
        (c) => c.messages().length >= before.size + awayContents.size,
        10_000,
        'the replay of everything unread',
      );
      for (const message of socket.messages()) {
        tally.replayed += 1;
        if (awayContents.has(message.content)) {
          tally.away += 1;
          if (message.redelivered) tally.awayFlagged += 1;
        }
        if (before.has(message.id)) {
          tally.replayedPushedBefore += 1;
          if (message.redelivered) tally.flagged += 1;
          else tally.missingFlag += 1;
        }
      }
      if (round === KILLS) break;

      // Live traffic, and a SIGKILL somewhere in the middle of it.
      let killed = false;
      const sending = sendUntil(broker.url, alice, `live-${round}`, () => killed);
      while (socket.messages().length < before.size + awayContents.size + BURST / 2) await sleep(1);
      await sleep(Math.random() * 20);
      await broker.kill('SIGKILL');
      killed = true;
      await sending;
      await socket.closed;
      for (const message of socket.messages()) pushedEver.add(message.id);
      broker = await broker.restart();
    }

    figure('redelivered after SIGKILL', { kills: KILLS, ...tally });
    expect(tally.replayedPushedBefore).toBeGreaterThan(0);
    expect(tally.missingFlag).toBe(0);
    expect(tally.flagged).toBe(tally.replayedPushedBefore);
    expect(tally.awayFlagged).toBe(0);
  },
);
