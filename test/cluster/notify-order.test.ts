/**
 * What a broker tells the others and must be heard in order (sessions opening, presence) reaches
 * them in the order it was sent, however much goes out at once: each NOTIFY may take another
 * pooled connection, and two in flight could commit in either order (then a takeover could end
 * the session both brokers should keep).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, register, type WsClient } from '../helpers/clients.ts';
import { postgresSkipReason } from '../helpers/postgres.ts';
import { sleep } from '../helpers/scale.ts';
import { eavesdrop, startTeam, type TestTeam } from '../helpers/team.ts';

const skip = await postgresSkipReason();
const ORDERED = new Set(['open', 'unreg', 'pres', 'hold', 'free']);

describe.skipIf(skip !== undefined)(`the order of a broker's notifications${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let team: TestTeam | undefined;
  let spy: Awaited<ReturnType<typeof eavesdrop>> | undefined;
  const sockets: WsClient[] = [];
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.close();
    await spy?.end();
    await team?.close();
    spy = team = undefined;
  });

  it('hears the opens and presence of 40 sessions opening at once in the order the broker sent them', async () => {
    team = await startTeam(2);
    const a = team.brokers[0]!.url;
    spy = await eavesdrop(team.database.url);
    const partners = await Promise.all(Array.from({ length: 40 }, (_, i) => register(a, `racer${i}`)));
    sockets.push(...(await Promise.all(partners.map((partner) => connect(a, partner)))));
    await sleep(500); // the last ones are heard
    const events = spy.payloads.map(
      (payload) => JSON.parse(payload.slice(payload.indexOf('.') + 1)) as { t: string; b: string; n: number },
    );
    const ordered = events.filter((event) => ORDERED.has(event.t));
    // One open and one presence per session, all from broker A.
    expect(ordered.filter((event) => event.t === 'open')).toHaveLength(40);
    expect(new Set(ordered.map((event) => event.b)).size).toBe(1);
    const sequence = ordered.map((event) => event.n);
    expect(sequence).toEqual([...sequence].sort((x, y) => x - y));
  });
});
