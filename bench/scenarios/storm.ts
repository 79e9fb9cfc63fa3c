/**
 * Reconnect storm: `count` partners each hold one message; all their sockets drop at once; one
 * more message is sent to each while they are away; then all reconnect together, each saying the
 * highest id it holds. The clock runs from the first reconnect until every partner has been
 * welcomed back and has its missed message. Nothing may be lost, and the held message must not
 * come back.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit, register, WsPartner } from '../lib/partner.ts';
import { waitFor, type Target } from '../lib/target.ts';

export interface StormResult {
  partners: number;
  resumeSeconds: number;
  lost: number;
  duplicates: number;
  failedReconnects: number;
}

const SEND_WINDOW = 32;

export async function storm(target: Target, prefix: string, count: number): Promise<StormResult> {
  const senderId = `${prefix}-s`;
  const senderSecret = await register(target.http, senderId);
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const secrets = await mapLimit(ids, 32, (id) => register(target.http, id));
  const received = ids.map(() => [] as string[]);
  const partners = await mapLimit(ids, 100, (id, i) =>
    WsPartner.connect(target.server.wsUrl, id, secrets[i]!, { onMessage: (m) => received[i]!.push(m.content) }),
  );
  const sender = await WsPartner.connect(target.server.wsUrl, senderId, senderSecret);

  await mapLimit(ids, SEND_WINDOW, (id) => sender.talk({ to: id }, 'held'));
  await waitFor(() => received.every((r) => r.length >= 1), 15_000, 10);
  const since = partners.map((p) => p.highestId);

  await mapLimit(partners, 1000, (p) => p.close(true));
  // Let the server notice the drops, so the talks below find everyone offline.
  await sleep(500);
  await mapLimit(ids, SEND_WINDOW, (id) => sender.talk({ to: id }, 'missed'));

  const t0 = performance.now();
  let failedReconnects = 0;
  const back = await Promise.all(
    ids.map((id, i) =>
      WsPartner.connect(target.server.wsUrl, id, secrets[i]!, {
        since: since[i]!,
        timeoutMs: 30_000,
        onMessage: (m) => received[i]!.push(m.content),
      }).catch(() => {
        failedReconnects++;
        return undefined;
      }),
    ),
  );
  const missed = (i: number) => received[i]!.filter((c) => c === 'missed').length;
  await waitFor(() => received.every((_, i) => missed(i) >= 1), 30_000, 5);
  const resumeSeconds = (performance.now() - t0) / 1000;

  let lost = 0;
  let duplicates = 0;
  for (let i = 0; i < count; i++) {
    if (missed(i) === 0) lost++;
    duplicates += Math.max(0, missed(i) - 1) + Math.max(0, received[i]!.filter((c) => c === 'held').length - 1);
  }
  await Promise.all([sender.close(), ...back.map((p) => p?.close())]);
  return { partners: count, resumeSeconds, lost, duplicates, failedReconnects };
}
