/**
 * A team broker that cannot start leaves nothing behind (no database connection, no timer), and
 * one that stops closes its door before it tells the others it is gone.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBroker } from '../../src/broker/app.ts';
import { BrokerConfig } from '../../src/shared/config.ts';
import { api, register } from '../helpers/clients.ts';
import { tempDir } from '../helpers/broker.ts';
import { createTestDatabase, POSTGRES_ADMIN_URL, postgresSkipReason, type TestDatabase } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/scale.ts';
import { startTeam, type TestTeam } from '../helpers/team.ts';

const skip = await postgresSkipReason();

async function asAdmin(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe.skipIf(skip !== undefined)(`a team broker starting and stopping${skip ? ` — skipped: ${skip}` : ''}`, () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('closes its database pool when joining the team fails', async () => {
    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());
    // A role allowed one connection: the pool gets it, the team's listening connection is refused.
    const role = `duo_one_${randomBytes(4).toString('hex')}`;
    await asAdmin(POSTGRES_ADMIN_URL, `create role ${role} login connection limit 1`);
    cleanups.push(() => asAdmin(POSTGRES_ADMIN_URL, `drop role if exists ${role}`));
    await asAdmin(POSTGRES_ADMIN_URL, `alter database ${database.name} owner to ${role}`);
    await asAdmin(database.url, `alter schema public owner to ${role}`);
    const url = new URL(database.url);
    url.username = role;
    const config = BrokerConfig.parse({
      port: 0,
      dbPath: url.toString(),
      logLevel: 'silent',
      ownerTokenPath: join(tempDir(), 'owner-token'),
    });
    await expect(buildBroker(config)).rejects.toThrow(/too many connections/);
    // Nothing of it stays connected (the pool would keep an idle connection for a while).
    const connections = async () =>
      Number(
        (await asAdmin(POSTGRES_ADMIN_URL, `select count(*) from pg_stat_activity where usename = '${role}'`)).rows[0]
          .count,
      );
    expect(await connections()).toBe(0);
  });

  it('stops accepting requests before it says bye to the others', async () => {
    const team: TestTeam = await startTeam(2);
    const [first, second] = team.brokers as [(typeof team.brokers)[0], (typeof team.brokers)[0]];
    cleanups.push(() => team.database.drop());
    cleanups.push(() => second.close());
    const alice = await register(second.url, 'alice');
    const firstId = first.broker.peers.id;
    // Watches the channel, and the moment the first broker's bye is heard, asks it something.
    const spy = new pg.Client({ connectionString: team.database.url });
    await spy.connect();
    cleanups.push(() => spy.end());
    let answer: Promise<number | string> | undefined;
    spy.on('notification', (note) => {
      if (answer === undefined && note.payload?.includes(`"t":"bye","b":"${firstId}"`))
        answer = api(first.url, 'GET', '/partners', { secret: alice.secret }).then(
          (reply) => reply.status,
          (error: Error) => error.message,
        );
    });
    await spy.query('listen claude_duo');
    const closing = first.close();
    await waitFor(async () => answer !== undefined, 10_000, "the first broker's bye");
    // Refused (the port is closed) or turned away with 503: never served after the bye.
    expect(await answer).not.toBe(200);
    await closing;
  });
});
