/**
 * What brokers sharing one PostgreSQL database tell each other, as NOTIFY payloads on one
 * channel. Every event names the broker process it comes from (`b`, new at every start), its
 * sequence number from that process (`n`) and when it was sent (`at`): the signature covers all
 * three, so a receiver can refuse a replay (see replay.ts). Payloads are small (PostgreSQL caps
 * them at 8000 bytes): messages travel as ids, and the receiver reads them from the database.
 */
import * as z from 'zod';

const id = z.string().min(1).max(200);

/** Message ids per `msg` event: the longest ids still fit the payload limit. */
export const MESSAGE_IDS_PER_EVENT = 256;
/** More tokens than any limiter grants between two reports (a larger claim is not believed). */
const MAX_TOKENS_PER_REPORT = 100_000;
const Hold = z.object({
  conversationId: id,
  heldAt: z.string(),
  messages: z.int().min(1),
  windowSeconds: z.int().min(0),
});

const EventBody = z.discriminatedUnion('t', [
  /** Messages committed by `b`, in id order. */
  z.object({ t: z.literal('msg'), b: id, ids: z.array(z.int().min(1)).min(1).max(MESSAGE_IDS_PER_EVENT) }),
  /** A conversation was created, or someone joined or left it: read its members again. */
  z.object({ t: z.literal('mem'), b: id, c: id }),
  /**
   * Session `s` of partner `p` opened on `b`: every session of it announced before this one ends
   * (4001). Brokers hear `open`s in one order (commit order), so all agree which is the newest.
   */
  z.object({ t: z.literal('open'), b: id, p: id, s: id }),
  /** Partner `p` read conversation `c` up to message `u`: its session anywhere is told. */
  z.object({ t: z.literal('read'), b: id, p: id, c: id, u: z.int().min(1) }),
  /** Partner `p` was unregistered (its Claude Code session ended): its session anywhere closes with 4010. */
  z.object({ t: z.literal('unreg'), b: id, p: id }),
  /** Partner `p` came online on `b`, left it, or changed its status. */
  z.object({ t: z.literal('pres'), b: id, p: id, on: z.boolean(), s: z.string().nullable() }),
  /** The loop guard held a conversation, or released it. */
  z.object({ t: z.literal('hold'), b: id, hold: Hold }),
  z.object({ t: z.literal('free'), b: id, c: id, by: z.enum(['resume', 'human_message']) }),
  /**
   * Console session `s` was logged out on `b`: its watch sockets anywhere close with 4011. `s` is
   * the session's token hash (what the database stores), never the cookie or the page key.
   */
  z.object({ t: z.literal('out'), b: id, s: id }),
  /** Rate-limit tokens `b` took since its last report, per limiter and key. */
  z.object({
    t: z.literal('rate'),
    b: id,
    l: z.enum(['requests', 'auth']),
    // No broker takes more tokens in one report interval than its burst allows.
    k: z.record(z.string().max(300), z.int().min(1).max(MAX_TOKENS_PER_REPORT)),
  }),
  /** `b` is alive; `up` says it just started (or lost its connection) and wants everyone's `here`. */
  z.object({ t: z.literal('beat'), b: id, up: z.boolean().optional() }),
  /** Partners with a live session on `b` (a reply to a starting broker). */
  z.object({ t: z.literal('here'), b: id, ps: z.array(id) }),
  /** `b` is shutting down: its partners are gone from it. */
  z.object({ t: z.literal('bye'), b: id }),
]);

/** Who sent a payload, its place in that sender's stream, and when (milliseconds, cluster clock). */
export const Envelope = z.object({
  b: id,
  n: z.int().min(1),
  at: z.number(),
});
export type Envelope = z.infer<typeof Envelope>;

export const ClusterEvent = z.intersection(EventBody, Envelope);
export type ClusterEvent = z.infer<typeof ClusterEvent>;

/** What a broker publishes; its envelope is added on the way out. */
export type OutgoingEvent =
  z.infer<typeof EventBody> extends infer E ? (E extends z.infer<typeof EventBody> ? Omit<E, 'b'> : never) : never;

/** PostgreSQL's NOTIFY payload limit is 8000 bytes; lists are split well below it. */
export const MAX_PAYLOAD_CHARS = 7_000;

/** Splits a list into chunks whose JSON stays under the payload limit. */
export function chunked<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const item of items) {
    const n = size(item) + 1;
    if (current.length > 0 && chars + n > MAX_PAYLOAD_CHARS - 200) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
