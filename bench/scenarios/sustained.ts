/**
 * Sustained throughput: `pairs` producers each talk to their own consumer as fast as a window of
 * unacknowledged talks allows, for `seconds`; then we wait for the tail to drain. Every message
 * carries its sequence number, so each consumer checks what it got against what its producer had
 * acknowledged: lost (acknowledged, never delivered), duplicated, out of id order.
 */
import { performance } from 'node:perf_hooks';
import { mapLimit, register, WsPartner } from '../lib/partner.ts';
import { waitFor, type Target } from '../lib/target.ts';

export interface SustainedResult {
  pairs: number;
  acked: number;
  delivered: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  seconds: number;
  msgPerSec: number;
}

const ACK_EVERY = 200;
const DRAIN_TIMEOUT_MS = 15_000;

interface Pair {
  producer: WsPartner;
  consumer: WsPartner;
  acked: Set<number>;
  delivered: Set<number>;
  duplicates: number;
  outOfOrder: number;
  lastId: number;
}

export async function sustained(
  target: Target,
  prefix: string,
  pairCount: number,
  window: number,
  seconds: number,
): Promise<SustainedResult> {
  let lastDelivery = 0;
  const pairs = await mapLimit(
    Array.from({ length: pairCount }, (_, i) => i),
    16,
    async (i): Promise<Pair> => {
      const [pId, cId] = [`${prefix}-p${i}`, `${prefix}-c${i}`];
      const [pSecret, cSecret] = await Promise.all([register(target.http, pId), register(target.http, cId)]);
      const pair = {
        acked: new Set<number>(),
        delivered: new Set<number>(),
        duplicates: 0,
        outOfOrder: 0,
        lastId: 0,
      } as Pair;
      pair.consumer = await WsPartner.connect(target.server.wsUrl, cId, cSecret, {
        onMessage: (message, at) => {
          const seq = Number(message.content);
          if (pair.delivered.has(seq)) pair.duplicates++;
          else pair.delivered.add(seq);
          // The contract: per conversation, recipients see messages in id order.
          if (message.id < pair.lastId) pair.outOfOrder++;
          pair.lastId = Math.max(pair.lastId, message.id);
          lastDelivery = at;
          if (pair.delivered.size % ACK_EVERY === 0) pair.consumer.ack(message.conversationId, message.id);
        },
      });
      pair.producer = await WsPartner.connect(target.server.wsUrl, pId, pSecret);
      return pair;
    },
  );

  const started = performance.now();
  const stopAt = started + seconds * 1000;
  const produce = async (pair: Pair) => {
    let seq = 0;
    const lane = async () => {
      while (performance.now() < stopAt) {
        const mine = seq++;
        await pair.producer.talk({ to: pair.consumer.partnerId }, String(mine));
        pair.acked.add(mine);
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  };
  await Promise.all(pairs.map(produce));
  const drained = (p: Pair) => p.delivered.size >= p.acked.size && [...p.acked].every((seq) => p.delivered.has(seq));
  await waitFor(() => pairs.every(drained), DRAIN_TIMEOUT_MS, 20);

  let acked = 0;
  let delivered = 0;
  let lost = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const pair of pairs) {
    acked += pair.acked.size;
    delivered += pair.delivered.size;
    duplicates += pair.duplicates;
    outOfOrder += pair.outOfOrder;
    for (const seq of pair.acked) if (!pair.delivered.has(seq)) lost++;
  }
  await Promise.all(pairs.flatMap((p) => [p.producer.close(), p.consumer.close()]));
  const elapsed = (lastDelivery - started) / 1000;
  return {
    pairs: pairCount,
    acked,
    delivered,
    lost,
    duplicates,
    outOfOrder,
    seconds: elapsed,
    msgPerSec: delivered / elapsed,
  };
}
