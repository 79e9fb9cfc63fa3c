/**
 * Real brokers for tests: in-process on an ephemeral port over a temporary SQLite file (or a
 * fresh PostgreSQL database when the suite runs on PostgreSQL, see postgres.ts), or as a child
 * process that can be killed and restarted on the same database and port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildBroker, type Broker } from '../../src/broker/app.ts';
import { BrokerConfig, type BrokerConfigInput } from '../../src/shared/config.ts';
import { rememberOwnerTokenFile } from './owner-tokens.ts';
import { createTestDatabase, testDatabaseAt, testDialect } from './postgres.ts';

export interface TestBroker {
  url: string;
  port: number;
  dbPath: string;
  dir: string;
  broker: Broker;
  close(): Promise<void>;
}

export function tempDir(prefix = 'duo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface StartOptions {
  /** Leave the database in place on close (brokers of one team share it; the team drops it). */
  keepDatabase?: boolean;
}

export async function startBroker(
  overrides: Partial<BrokerConfigInput> = {},
  options: StartOptions = {},
): Promise<TestBroker> {
  const dir = tempDir();
  const database =
    overrides.dbPath === undefined
      ? testDialect() === 'postgres'
        ? await createTestDatabase()
        : undefined
      : testDatabaseAt(overrides.dbPath);
  const dbPath = overrides.dbPath ?? database?.url ?? join(dir, 'duo.db');
  // Test brokers run without the loop guard (delivery tests exchange thousands of agent
  // messages); the tests of the guard switch it on.
  // The owner token lives in a file in the temporary folder, as a real broker's does in the
  // user's config folder, so partner and CLI harnesses can find it.
  const config = BrokerConfig.parse({
    port: 0,
    dbPath,
    logLevel: 'silent',
    loopGuard: 'off',
    ownerTokenPath: join(dir, 'owner-token'),
    ...overrides,
  });
  const broker = await buildBroker(config);
  await broker.app.listen({ port: config.port, host: config.host });
  const address = broker.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  if (config.ownerTokenPath !== undefined) rememberOwnerTokenFile(url, config.ownerTokenPath);
  return {
    url,
    port,
    dbPath,
    dir,
    broker,
    async close() {
      await broker.close();
      if (!options.keepDatabase) await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface BrokerProcess {
  url: string;
  port: number;
  dbPath: string;
  child: ChildProcess;
  /** Output so far (stderr and stdout), for failure messages. */
  output(): string;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new broker process on the same database and port. */
  restart(): Promise<BrokerProcess>;
}

const brokerMain = new URL('../../src/broker/main.ts', import.meta.url).pathname;

/** A broker in its own process, ready when /health answers. */
export async function startBrokerProcess(options: {
  dbPath: string;
  port?: number;
  env?: Record<string, string>;
}): Promise<BrokerProcess> {
  const port = options.port ?? (await freePort());
  // Beside the database, never in the real user's config folder.
  const tokenFile = join(dirname(options.dbPath), 'owner-token');
  const child = spawn(process.execPath, ['--import', 'tsx', brokerMain], {
    env: {
      ...process.env,
      BROKER_PORT: String(port),
      BROKER_HOST: '127.0.0.1',
      DUO_DB: options.dbPath,
      DUO_OWNER_TOKEN_FILE: tokenFile,
      DUO_LOG_LEVEL: 'warn',
      DUO_LOOP_GUARD: 'off',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited early (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`broker did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // A test that chose the default location (an empty DUO_OWNER_TOKEN_FILE: its own XDG folders)
  // wires its clients itself.
  const chosen = options.env?.DUO_OWNER_TOKEN_FILE;
  if (chosen !== '') rememberOwnerTokenFile(url, chosen ?? tokenFile);
  const handle: BrokerProcess = {
    url,
    port,
    dbPath: options.dbPath,
    child,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    restart: () => startBrokerProcess({ ...options, port }),
  };
  return handle;
}
