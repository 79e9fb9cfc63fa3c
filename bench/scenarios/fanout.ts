/**
 * Group fan-out 1 → N. First, one message at a time: how long until the first and the last of
 * the N recipients has it. Then a burst with a few talks in flight: deliveries per second.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConversationReply } from '../../src/shared/protocol.ts';
import { mapLimit, register, WsPartner } from '../lib/partner.ts';
import { summarize } from '../lib/stats.ts';
import { waitFor, type Target } from '../lib/target.ts';

export interface FanoutResult {
  recipients: number;
  firstP50: number;
  firstP99: number;
  lastP50: number;
  lastP99: number;
  deliveriesPerSec: number;
  lost: number;
}

const BURST_WINDOW = 8;
const ACK_EVERY = 50;

export async function fanout(
  target: Target,
  prefix: string,
  recipientCount: number,
  samples: number,
  burst: number,
): Promise<FanoutResult> {
  const senderId = `${prefix}-s`;
  const senderSecret = await register(target.http, senderId);
  const ids = Array.from({ length: recipientCount }, (_, i) => `${prefix}-r${i}`);
  const secrets = await mapLimit(ids, 16, (id) => register(target.http, id));
  const { conversation } = await target.http.ok<ConversationReply>(
    'POST',
    '/conversations',
    { name: `${prefix} fan-out`, participants: ids },
    senderSecret,
  );

  // Arrival bookkeeping per message index (the content), over all recipients.
  const count = new Map<number, number>();
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let deliveries = 0;
  let lastArrival = 0;
  const onArrival = (index: number, at: number) => {
    deliveries++;
    lastArrival = at;
    count.set(index, (count.get(index) ?? 0) + 1);
    if (!first.has(index)) first.set(index, at);
    last.set(index, at);
  };
  const recipients = await mapLimit(ids, 32, (id, i) => {
    let received = 0;
    const partner: Promise<WsPartner> = WsPartner.connect(target.server.wsUrl, id, secrets[i]!, {
      onMessage: (message, at) => {
        onArrival(Number(message.content), at);
        if (++received % ACK_EVERY === 0) void partner.then((p) => p.ack(message.conversationId, message.id));
      },
    });
    return partner;
  });
  const sender = await WsPartner.connect(target.server.wsUrl, senderId, senderSecret);
  const destination = { conversationId: conversation.id };

  try {
    const firsts: number[] = [];
    const lasts: number[] = [];
    const warmup = 10;
    let lost = 0;
    for (let i = 0; i < warmup + samples; i++) {
      const t0 = performance.now();
      await sender.talk(destination, String(i));
      if (!(await waitFor(() => count.get(i) === recipientCount, 10_000, 0)))
        lost += recipientCount - (count.get(i) ?? 0);
      const [f, l] = [first.get(i), last.get(i)];
      if (i >= warmup && f !== undefined && l !== undefined) {
        firsts.push(f - t0);
        lasts.push(l - t0);
      }
      if (i % 10 === 9) await sleep(5);
    }

    const base = warmup + samples;
    const before = deliveries;
    const started = performance.now();
    let next = base;
    const lane = async () => {
      while (next < base + burst) await sender.talk(destination, String(next++));
    };
    await Promise.all(Array.from({ length: BURST_WINDOW }, lane));
    const expected = burst * recipientCount;
    await waitFor(() => deliveries - before >= expected, 20_000, 5);
    lost += expected - (deliveries - before);
    const f = summarize(firsts);
    const l = summarize(lasts);
    return {
      recipients: recipientCount,
      firstP50: f.p50,
      firstP99: f.p99,
      lastP50: l.p50,
      lastP99: l.p99,
      deliveriesPerSec: ((deliveries - before) / (lastArrival - started)) * 1000,
      lost,
    };
  } finally {
    await Promise.all([sender.close(), ...recipients.map((r) => r.close())]);
  }
}
