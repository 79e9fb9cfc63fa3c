/**
 * Metrics in team mode (two brokers on one PostgreSQL database): each broker counts the messages
 * sent through it, knows the other broker, and times how late the other's messages reach it. A
 * team broker serves every metric there is, so the table in docs/operations.md is checked against it here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, register, talk } from '../helpers/clients.ts';
import { rise, sample, scrape } from '../helpers/metrics.ts';
import { postgresSkipReason } from '../helpers/postgres.ts';
import { docTable } from '../helpers/doc-table.ts';
import { waitFor } from '../helpers/scale.ts';
import { startTeam, type TestTeam } from '../helpers/team.ts';

const skip = await postgresSkipReason();

describe.skipIf(skip !== undefined)(`metrics of a team${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let team: TestTeam | undefined;
  afterEach(async () => team?.close());

  it('counts messages where they were sent, sees the other broker, and times its notifications', async () => {
    team = await startTeam(2);
    const [a, b] = team.brokers.map((broker) => broker.url) as [string, string];
    const alice = await register(a, 'alice');
    const bob = await register(b, 'bob');
    const bobWs = await connect(b, bob);
    for (const url of [a, b])
      await waitFor(
        async () => sample(await scrape(url), 'duo_cluster_peers') === 1,
        10_000,
        `${url} to hear the other`,
        50,
      );

    const N = 6;
    const [beforeA, beforeB] = [await scrape(a), await scrape(b)];
    for (let i = 0; i < N; i++) expect((await talk(a, alice, { to: 'bob', content: `m${i}` })).status).toBe(200);
    await bobWs.until((c) => c.messages().length === N, 10_000, "bob's pushes on broker B");
    const [afterA, afterB] = [await scrape(a), await scrape(b)];

    const series = ['duo_messages_total{transport="rest"}', 'duo_delivery_seconds_count'];
    expect(rise(beforeA, afterA, series)).toEqual({
      'duo_messages_total{transport="rest"}': N,
      // Bob's session is on B: A pushes nothing.
      duo_delivery_seconds_count: 0,
    });
    expect(rise(beforeB, afterB, series)).toEqual({
      'duo_messages_total{transport="rest"}': 0,
      duo_delivery_seconds_count: N,
    });
    // B applied at least one notification per message of A (and A's heartbeats besides).
    const heard = rise(beforeB, afterB, ['duo_cluster_notification_lag_seconds_count']);
    expect(heard.duo_cluster_notification_lag_seconds_count).toBeGreaterThanOrEqual(N);
    expect(sample(afterB, 'duo_sessions')).toBe(1);
    expect(sample(afterA, 'duo_sessions')).toBe(0);
  });

  it('serves exactly the metrics the Metrics table of docs/operations.md lists, with their types', async () => {
    team = await startTeam(1);
    const text = await (await fetch(`${team.brokers[0]!.url}/metrics`)).text();
    const served = [...text.matchAll(/^# TYPE (duo_\S+) (\S+)$/gm)].map(([, name, type]) => [name, type]);
    const documented = docTable('docs/operations.md', 'Metrics', 'metric').map(([name, type]) => [
      name!.replace(/^`|`$/g, '').replace(/\{.*\}$/, ''),
      type,
    ]);
    expect(served.sort()).toEqual(documented.sort());
  });
});
