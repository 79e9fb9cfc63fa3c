/**
 * The PostgreSQL server the team-mode rows run on: whether one answers, and the run's own
 * databases, created empty and dropped at the end. `dropAll` is what the harness calls when the
 * run ends, fails or is interrupted; `with (force)` ends any connection a server still holds.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describeDbLocation } from '../../src/shared/db-location.ts';

/** The server's maintenance database, through which the run's databases are created and dropped. */
export const BENCH_POSTGRES_URL =
  process.env.DUO_BENCH_POSTGRES_URL ||
  process.env.DUO_TEST_POSTGRES_URL ||
  'postgres://postgres@127.0.0.1:5432/postgres';

const CONNECT_TIMEOUT_MS = 3_000;

export class BenchDatabases {
  private readonly names: string[] = [];
  private dropping = false;
  private readonly run = `duo_bench_${process.pid}_${randomBytes(3).toString('hex')}`;

  constructor(private readonly adminUrl = BENCH_POSTGRES_URL) {}

  /** Why the PostgreSQL rows cannot run here, or undefined when the server answers. */
  async unavailable(): Promise<string | undefined> {
    try {
      await this.admin((client) => client.query('select 1'));
      return undefined;
    } catch (error) {
      const { code, message } = error as Error & { code?: string };
      return `no PostgreSQL server answers at ${describeDbLocation(this.adminUrl)} (${code ?? message})`;
    }
  }

  /** A new, empty database; returns its URL. */
  async create(tag: string): Promise<string> {
    const name = `${this.run}_${tag}`;
    await this.admin((client) => client.query(`create database ${name}`));
    this.names.push(name);
    // Interrupted while this one was being created: it goes too, and nothing may use it.
    if (this.dropping) {
      await this.dropAll(() => {});
      throw new Error('the bench is stopping');
    }
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Drops every database this run created; says which ones it could not drop. */
  async dropAll(log: (line: string) => void): Promise<void> {
    this.dropping = true;
    while (this.names.length > 0) {
      const name = this.names.pop()!;
      try {
        await this.admin((client) => client.query(`drop database if exists ${name} with (force)`));
      } catch (error) {
        log(`bench: could not drop database ${name} (${(error as Error).message}); drop it by hand`);
      }
    }
  }

  private async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
