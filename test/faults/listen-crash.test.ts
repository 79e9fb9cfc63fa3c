/**
 * REST listen across broker crashes: the broker is SIGKILLed a few milliseconds after each
 * /listen response, often before it has marked what the response returned as read. A client
 * that echoes each response's cursor as `after` gets every message exactly once; a client that
 * does not gets every message at least once (some twice), as the README says.
 */
import { afterEach, expect, it } from 'vitest';
import type { ListenReply } from '../../src/shared/protocol.ts';
import { startBrokerProcess, testDbLocation, type BrokerProcess } from '../helpers/broker.ts';
import { register, talk, type Registered } from '../helpers/clients.ts';
import { figure, scale, sleep } from '../helpers/scale.ts';

const KILLS = scale(8, 40);
const PER_ROUND = 3;

let broker: BrokerProcess | undefined;
afterEach(async () => {
  await broker?.kill('SIGKILL');
  broker = undefined;
});

async function listen(who: Registered, after: string | undefined): Promise<ListenReply> {
  const query = after === undefined ? '' : `&after=${after}`;
  const response = await fetch(`${broker!.url}/listen/${who.partnerId}?timeout=2${query}`, {
    headers: { authorization: `Bearer ${who.secret}` },
  });
  if (response.status !== 200) throw new Error(`listen: ${response.status} ${await response.text()}`);
  return (await response.json()) as ListenReply;
}

/** Rounds of: send, listen, SIGKILL a few ms after the response, restart. Returns what was heard. */
async function crashAfterEveryListen(echoCursor: boolean) {
  broker = await startBrokerProcess({ dbPath: await testDbLocation('duo-listen-crash-') });
  const alice = await register(broker.url, 'alice');
  const bob = await register(broker.url, 'bob');
  const sent: string[] = [];
  const heard: string[] = [];
  let cursor: string | undefined;
  for (let round = 0; round < KILLS; round++) {
    for (let i = 0; i < PER_ROUND; i++) {
      const content = `r${round}-${i}`;
      expect((await talk(broker.url, alice, { to: 'bob', content })).status).toBe(200);
      sent.push(content);
    }
    const reply = await listen(bob, echoCursor ? cursor : undefined);
    heard.push(...reply.messages.map((m) => m.content));
    cursor = reply.cursor;
    // Land anywhere from before the cursor write to well after it.
    await sleep(Math.random() * 30);
    await broker.kill('SIGKILL');
    broker = await broker.restart();
  }
  // Drain what is left.
  for (;;) {
    const reply = await listen(bob, echoCursor ? cursor : undefined);
    if (reply.messages.length === 0) break;
    heard.push(...reply.messages.map((m) => m.content));
    cursor = reply.cursor;
  }
  const counts = new Map<string, number>();
  for (const content of heard) counts.set(content, (counts.get(content) ?? 0) + 1);
  return {
    sent,
    lost: sent.filter((c) => !counts.has(c)).length,
    heardTwice: [...counts.values()].filter((n) => n > 1).length,
    inOrder: heard.filter((c, i) => heard.indexOf(c) === i),
  };
}

it(
  `with after=<cursor>, every message is heard exactly once across ${KILLS} SIGKILLs right after a listen`,
  { timeout: scale(120_000, 400_000) },
  async () => {
    const result = await crashAfterEveryListen(true);
    figure('listen crash, cursor echoed', {
      kills: KILLS,
      messages: result.sent.length,
      lost: result.lost,
      heardTwice: result.heardTwice,
    });
    expect(result.lost).toBe(0);
    expect(result.heardTwice).toBe(0);
    expect(result.inOrder).toEqual(result.sent);
  },
);

it(
  `without after, every message is heard at least once across ${KILLS} SIGKILLs right after a listen`,
  { timeout: scale(120_000, 400_000) },
  async () => {
    const result = await crashAfterEveryListen(false);
    figure('listen crash, no cursor', {
      kills: KILLS,
      messages: result.sent.length,
      lost: result.lost,
      heardTwice: result.heardTwice,
    });
    expect(result.lost).toBe(0);
    expect(result.inOrder).toEqual(result.sent);
  },
);
