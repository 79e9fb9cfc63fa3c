/**
 * PostgreSQL goes away under a running broker (server down, network cut): sends and reads are
 * refused with 503 storage_unavailable and acknowledge nothing, the broker stays up, and once the
 * database is back everything works again and nothing acknowledged is missing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { api, connect, register, talk } from '../helpers/clients.ts';
import { createTestDatabase, POSTGRES_ADMIN_URL, postgresSkipReason, type TestDatabase } from '../helpers/postgres.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

const skip = await postgresSkipReason();

describe.skipIf(skip !== undefined)(`PostgreSQL outage${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let proxy: TcpProxy | undefined;
  let broker: TestBroker | undefined;
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await broker?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('answers 503 storage_unavailable while the database is unreachable, stays up, and recovers', async () => {
    const serverPort = Number(new URL(POSTGRES_ADMIN_URL).port || 5432);
    database = await createTestDatabase();
    proxy = await TcpProxy.start(serverPort);
    const routed = new URL(database.url);
    routed.host = `127.0.0.1:${proxy.port}`;
    broker = await startBroker({ dbPath: routed.toString() }, { keepDatabase: true });
    const alice = await register(broker.url, 'alice');
    const bob = await register(broker.url, 'bob');
    const bobWs = await connect(broker.url, bob);
    expect((await talk(broker.url, alice, { to: 'bob', content: 'before' })).status).toBe(200);

    // The database goes away: every connection drops and new ones are refused.
    const port = proxy.port;
    await proxy.close();
    const refused = await talk(broker.url, alice, { to: 'bob', content: 'during', clientMsgId: 'during-1' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('storage_unavailable');
    expect(refused.headers.get('retry-after')).toBe('1');
    const listed = await api(broker.url, 'GET', '/conversations/alice', { secret: alice.secret });
    expect(listed.status).toBe(503);
    expect((await api(broker.url, 'GET', '/health')).status).toBe(200);

    // Back: the retry of the refused send is stored once, and the session gets both messages.
    proxy = await TcpProxy.start(serverPort, '127.0.0.1', port);
    let retried = await talk(broker.url, alice, { to: 'bob', content: 'during', clientMsgId: 'during-1' });
    for (let i = 0; i < 50 && retried.status === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      retried = await talk(broker.url, alice, { to: 'bob', content: 'during', clientMsgId: 'during-1' });
    }
    expect(retried.status).toBe(200);
    expect(retried.body.duplicate).toBe(false);
    await bobWs.until((c) => c.messages().length === 2, 10_000, 'both messages');
    expect(bobWs.messages().map((m) => m.content)).toEqual(['before', 'during']);
  });
});
