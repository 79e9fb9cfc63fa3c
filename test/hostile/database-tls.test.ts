/**
 * Team mode over a network: a broker refuses a PostgreSQL database on another machine whose URL
 * does not say how to protect the connection (sslmode), since node-postgres would otherwise send
 * every message and the brokers' signing key in clear text. Local databases need nothing.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { checkDatabaseTransport } from '../../src/broker/db-postgres.ts';
import { openDatabase } from '../../src/broker/db.ts';

/** An address of this machine that is not loopback (PostgreSQL in the tests listens on loopback only). */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  return undefined;
}

describe('a PostgreSQL URL on another machine', () => {
  it('is refused without sslmode, saying what to add, and without the password', async () => {
    const error = await openDatabase('postgres://duo:hunter2@db.example.com:5432/duo').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'bad_request' });
    const message = (error as Error).message;
    expect(message).toMatch(/sslmode=verify-full/);
    expect(message).toMatch(/sslmode=disable/);
    expect(message).not.toContain('hunter2');
  });

  it('is accepted once the URL says sslmode (or PGSSLMODE does), and a local one always', () => {
    for (const url of [
      'postgres://duo@db.example.com/duo?sslmode=verify-full',
      'postgres://duo@db.example.com/duo?sslmode=disable',
      'postgres://duo@127.0.0.1/duo',
      'postgres://duo@localhost:5432/duo',
      'postgres://duo@[::1]/duo',
      'postgres:///duo?host=/var/run/postgresql',
      'postgres://%2Fvar%2Frun%2Fpostgresql/duo',
    ])
      expect(() => checkDatabaseTransport(url, {}), url).not.toThrow();
    expect(() => checkDatabaseTransport('postgres://duo@db.example.com/duo', { PGSSLMODE: 'require' })).not.toThrow();
    for (const url of [
      'postgres://duo@10.0.0.5/duo',
      'postgres://duo@db.localhost/duo',
      'postgresql://duo@[fd00::1]/duo',
    ])
      expect(() => checkDatabaseTransport(url, {}), url).toThrow(/sslmode/);
  });

  it.skipIf(lanAddress() === undefined)(
    'with sslmode=disable, is tried (and here not reached) rather than refused',
    async () => {
      const error = await openDatabase(`postgres://postgres@${lanAddress()}:1/duo?sslmode=disable`).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'storage_unavailable' });
    },
  );
});
