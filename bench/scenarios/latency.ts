/**
 * talk → recipient inbox latency, one message in flight at a time.
 * - WS: the sender talks over its socket; the clock stops when the recipient's socket delivers the
 *   pushed message. The two sockets may be on different servers (two brokers of one database).
 * - REST: the sender POSTs /talk while the recipient has a GET /listen parked; the clock stops when
 *   that long-poll's reply has been read in full.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListenReply, Message, TalkReply } from '../../src/shared/protocol.ts';
import { register, WsPartner } from '../lib/partner.ts';
import { summarize, type Summary } from '../lib/stats.ts';
import type { Target } from '../lib/target.ts';

/** The recipient acknowledges in batches, as a partner does after `listen`; never inside the timed path. */
const ACK_EVERY = 100;

/**
 * The sender talks to `sender`, the recipient listens on `recipient`: the same server, or two
 * brokers sharing one database (team mode), each partner registered on its own.
 */
export async function wsLatency(sender: Target, recipient: Target, prefix: string, samples: number): Promise<Summary> {
  const warmup = Math.max(100, Math.floor(samples / 10));
  const [aId, bId] = [`${prefix}-a`, `${prefix}-b`];
  const [aSecret, bSecret] = await Promise.all([register(sender.http, aId), register(recipient.http, bId)]);
  let arrived: ((message: Message, at: number) => void) | undefined;
  const b = await WsPartner.connect(recipient.server.wsUrl, bId, bSecret, {
    onMessage: (message, at) => arrived?.(message, at),
  });
  const a = await WsPartner.connect(sender.server.wsUrl, aId, aSecret);
  const latencies: number[] = [];
  try {
    for (let i = 0; i < warmup + samples; i++) {
      const content = `latency ${i}`;
      const delivered = new Promise<{ message: Message; at: number }>((resolve) => {
        arrived = (message, at) => {
          if (message.content === content) resolve({ message, at });
        };
      });
      const t0 = performance.now();
      const [, { message, at }] = await Promise.all([a.talk({ to: bId }, content), delivered]);
      if (i >= warmup) latencies.push(at - t0);
      if ((i + 1) % ACK_EVERY === 0) {
        b.ack(message.conversationId, message.id);
        await sleep(2);
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return summarize(latencies);
}

export interface RestLatency extends Summary {
  /** Messages a long-poll returned that an earlier long-poll had already returned. */
  repeats: number;
}

export async function restLatency(target: Target, prefix: string, samples: number): Promise<RestLatency> {
  const warmup = Math.max(50, Math.floor(samples / 10));
  const [aId, bId] = [`${prefix}-a`, `${prefix}-b`];
  const [aSecret, bSecret] = await Promise.all([register(target.http, aId), register(target.http, bId)]);
  const listen = () =>
    target.http
      .ok<ListenReply>('GET', `/listen/${bId}?timeout=30`, undefined, bSecret)
      .then((reply) => ({ reply, at: performance.now() }));
  const seen = new Set<number>();
  let repeats = 0;
  const latencies: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const content = `latency ${i}`;
    let listening = listen();
    // Give the long-poll time to park, so we time the wake-up path, not a message already waiting.
    await sleep(3);
    const t0 = performance.now();
    await target.http.ok<TalkReply>('POST', '/talk', { to: bId, content }, aSecret);
    for (;;) {
      const { reply, at } = await listening;
      for (const message of reply.messages) {
        if (seen.has(message.id)) repeats++;
        seen.add(message.id);
      }
      if (reply.messages.some((m) => m.content === content)) {
        if (i >= warmup) latencies.push(at - t0);
        break;
      }
      // The long-poll answered with something else (a message it had returned before): poll again.
      listening = listen();
    }
  }
  return { ...summarize(latencies), repeats };
}
