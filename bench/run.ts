/**
 * `npm run bench`: our broker measured beside anchors started in the same run, reported as ratios.
 *
 * Every server is a child process on 127.0.0.1 with its own temporary database; the clients live
 * here. Rounds interleave anchors and the broker (the order flips every round) so a noisy
 * neighbour hurts both sides alike, and the table reports medians over rounds. The bench never
 * fails the build: it exits 0 whether goals are met or not, and even when a scenario errors.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEAVY_SCENARIOS, ONCE_SCENARIOS, parseBenchArgs, type BenchOptions, type ScenarioName } from './lib/args.ts';
import { BenchDatabases } from './lib/postgres.ts';
import { freePort, startServer, type ServerProcess, type ServerSpec } from './lib/servers.ts';
import { median, type Summary } from './lib/stats.ts';
import { renderTable, judge, type Row } from './lib/table.ts';
import { targetFor, type Target } from './lib/target.ts';
import { fanout, type FanoutResult } from './scenarios/fanout.ts';
import { idle, type IdleResult } from './scenarios/idle.ts';
import { lastMile, type LastMileResult, type Rung } from './scenarios/last-mile.ts';
import { restLatency, wsLatency, type RestLatency } from './scenarios/latency.ts';
import { sqliteInsert, type SqliteResult } from './scenarios/sqlite.ts';
import {
  buildDist,
  commandRun,
  mcpSpawn,
  serverStart,
  startupLaunches,
  type CommandResult,
  type Launch,
  type SpawnResult,
} from './scenarios/startup.ts';
import { storm, type StormResult } from './scenarios/storm.ts';
import { sustained, type SustainedResult } from './scenarios/sustained.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BROKER_ENTRY = join(ROOT, 'src/broker/main.ts');
const ANCHOR_HEARTBEAT_MS = 2000;
/** The label of the team-mode figure: sender on one broker, recipient on another, one database. */
const TWO_BROKERS = 'two brokers';

/** One measurement: which figure (key), on which server (label), and how to take it. */
interface Job {
  scenario: ScenarioName;
  key: string;
  label: string;
  run: (prefix: string) => Promise<unknown>;
}

/** round → key → label → result (or the error that stopped it). */
type RoundFigures = Record<string, Record<string, unknown>>;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2));
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'duo-bench-'));
  // One owner token for every broker of this run (they inherit the variable), so the bench's
  // clients can create partner ids as a real user's processes do.
  process.env.DUO_OWNER_TOKEN_FILE = join(dir, 'owner-token');
  const servers: ServerProcess[] = [];
  const databases = new BenchDatabases();
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await databases.dropAll(log);
      await rm(dir, { recursive: true, force: true });
    })());
  // An interrupted run still stops its servers and drops the PostgreSQL databases it created.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`bench: ${signal}: stopping the servers and dropping this run's databases`);
      void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  const enabled = (s: ScenarioName) => options.only.length === 0 || options.only.includes(s);
  try {
    if (enabled('startup') || enabled('last-mile')) {
      log('bench: building dist/ for the start-up and last-mile rows (they run what users run)');
      buildDist(ROOT);
    }
    const targets = await startTargets(options, dir, servers, enabled('postgres') ? databases : undefined);
    const jobs = planJobs(options, targets, dir).filter((job) => enabled(job.scenario));
    const rounds: RoundFigures[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const due = jobs.filter(
        (job) =>
          round === 1 ||
          (!ONCE_SCENARIOS.includes(job.scenario) &&
            (options.heavyEveryRound || !HEAVY_SCENARIOS.includes(job.scenario))),
      );
      rounds.push(await runRound(round, options.rounds, due));
    }
    const rows = buildRows(rounds, options, targets.ours !== undefined, targets.postgres);
    const elapsed = (Date.now() - started) / 1000;
    console.log(
      `\nClaude Duo bench — ${options.full ? 'full' : 'quick'}, ${options.rounds} interleaved round(s)` +
        `${options.heavyEveryRound ? '' : ` (${HEAVY_SCENARIOS.join(', ')}: first round only)`}, medians over rounds` +
        ` (${ONCE_SCENARIOS.join(', ')}: once, with rounds of its own), ${elapsed.toFixed(0)} s` +
        `\nnode ${process.version}, ${cpus().length} CPU(s), load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}\n`,
    );
    console.log(renderTable(rows));
    const missed = rows.filter((row) => judge(row).met === false).length;
    console.log(
      missed === 0
        ? '\nAll goals met.'
        : `\n${missed} line(s) missed their goal (marked ✗). The bench does not fail the build.`,
    );
    if (options.json !== undefined) {
      await writeFile(options.json, `${JSON.stringify(report(options, started, rounds, rows), null, 2)}\n`);
      log(`bench: raw figures written to ${options.json}`);
    }
  } finally {
    await cleanUp();
  }
}

interface Targets {
  relay: Target;
  floor: Target;
  longpoll: Target;
  ours: Target | undefined;
  /** The team-mode servers, when the PostgreSQL rows were asked for. */
  postgres: PostgresTargets | undefined;
  /** Starts a new, empty server of the same kind (for figures a warm heap would blur). */
  fresh: { relay: () => Promise<ServerProcess>; ours: (() => Promise<ServerProcess>) | undefined };
}

/** The PostgreSQL floor and our brokers on PostgreSQL: one alone, and two sharing a database. */
interface PostgresTargets {
  floor?: Target;
  one?: Target;
  two?: { a: Target; b: Target };
  /** Why the rows cannot run here (no server answers); they say so instead of failing. */
  skipped?: string;
  /** Why a server did not start on PostgreSQL; the rows it would have measured count as missed. */
  error?: string;
}

async function startTargets(
  options: BenchOptions,
  dir: string,
  servers: ServerProcess[],
  databases: BenchDatabases | undefined,
): Promise<Targets> {
  let count = 0;
  const startAnchor = async (name: string, file: string, args: string[] = []) => {
    const port = await freePort();
    return startServer({
      name,
      port,
      entry: join(ROOT, 'bench/anchors', file),
      args: ['--port', String(port), ...args],
    });
  };
  const startBroker = async (db = join(dir, `broker-${++count}.db`)) => {
    const port = await freePort();
    const spec: ServerSpec = {
      name: 'broker',
      port,
      entry: BROKER_ENTRY,
      env: {
        BROKER_PORT: String(port),
        BROKER_HOST: '127.0.0.1',
        DUO_DB: db,
        DUO_LOG_LEVEL: 'warn',
        DUO_RATE_LIMIT: '100000',
        // The bench's partners answer each other at machine speed on purpose.
        DUO_LOOP_GUARD: 'off',
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_CONFIG_HOME: join(dir, 'config'),
      },
      nodeArgs: options.cpuProf === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`],
    };
    return startServer(spec);
  };
  const kept = async (label: string, start: () => Promise<ServerProcess>) => {
    const server = await start();
    servers.push(server);
    return targetFor(label, server);
  };
  const startRelay = () => startAnchor('raw ws', 'ws-relay.ts', ['--heartbeat-ms', String(ANCHOR_HEARTBEAT_MS)]);
  const [relay, floor, longpoll] = await Promise.all([
    kept('raw ws', startRelay),
    kept('persisted floor', () =>
      startAnchor('persisted floor', 'persisted-relay.ts', ['--db', join(dir, 'floor.db')]),
    ),
    kept('raw HTTP long-poll', () => startAnchor('raw HTTP long-poll', 'http-longpoll.ts')),
  ]);
  let ours: Target | undefined;
  if (options.skipBroker) {
    log('bench: --no-broker, measuring the anchors only');
  } else if (!existsSync(BROKER_ENTRY)) {
    log(`bench: ${BROKER_ENTRY} does not exist yet; measuring the anchors only`);
  } else {
    try {
      ours = await kept('ours', startBroker);
    } catch (error) {
      log(`bench: the broker did not start, measuring the anchors only: ${(error as Error).message}`);
    }
  }
  const startPostgres = async (databases: BenchDatabases): Promise<PostgresTargets> => {
    const skipped = await databases.unavailable();
    if (skipped !== undefined) {
      log(`bench: PostgreSQL rows skipped: ${skipped}; DUO_BENCH_POSTGRES_URL names another server`);
      return { skipped };
    }
    const started: PostgresTargets = {};
    try {
      const floorDb = await databases.create('floor');
      started.floor = await kept('pg floor', () => startAnchor('pg floor', 'pg-floor.ts', ['--db', floorDb]));
      if (ours === undefined) return started;
      const oneDb = await databases.create('one');
      started.one = await kept('ours', () => startBroker(oneDb));
      // One after the other, so the second broker finds the schema already migrated.
      const sharedDb = await databases.create('two');
      const a = await kept('ours', () => startBroker(sharedDb));
      const b = await kept('ours', () => startBroker(sharedDb));
      started.two = { a, b };
    } catch (error) {
      started.error = (error as Error).message;
      log(`bench: a PostgreSQL server did not start: ${started.error}`);
    }
    return started;
  };
  const postgres = databases === undefined ? undefined : await startPostgres(databases);
  return {
    relay,
    floor,
    longpoll,
    ours,
    postgres,
    fresh: { relay: startRelay, ours: ours ? () => startBroker() : undefined },
  };
}

/** Runs `run` against a server started for it alone, stopped afterwards. */
async function onFresh<R>(
  label: string,
  start: () => Promise<ServerProcess>,
  run: (target: Target) => Promise<R>,
): Promise<R> {
  const server = await start();
  const target = targetFor(label, server);
  try {
    return await run(target);
  } finally {
    target.http.close();
    await server.stop();
  }
}

function planJobs(options: BenchOptions, t: Targets, dir: string): Job[] {
  const s = options.sizes;
  const jobs: Job[] = [];
  const add = (
    scenario: ScenarioName,
    key: string,
    target: Target | undefined,
    run: (target: Target, prefix: string) => Promise<unknown>,
  ) => {
    if (target) jobs.push({ scenario, key, label: target.label, run: (prefix) => run(target, prefix) });
  };
  jobs.push({
    scenario: 'sqlite',
    key: 'sqlite',
    label: 'raw better-sqlite3',
    run: (prefix) => sqliteInsert(join(dir, `${prefix}.db`), s.latencySamples),
  });
  for (const target of [t.floor, t.relay, t.ours])
    add('latency', 'latency', target, (x, p) => wsLatency(x, x, p, s.latencySamples));
  for (const target of [t.longpoll, t.ours])
    add('rest', 'rest', target, (x, p) => restLatency(x, p, s.restLatencySamples));
  for (const target of [t.postgres?.floor, t.postgres?.one])
    add('postgres', 'pglatency', target, (x, p) => wsLatency(x, x, p, s.pgLatencySamples));
  const two = t.postgres?.two;
  if (two)
    jobs.push({
      scenario: 'postgres',
      key: 'pglatency',
      label: TWO_BROKERS,
      run: (prefix) => wsLatency(two.a, two.b, prefix, s.pgLatencySamples),
    });
  for (const target of [t.floor, t.ours]) {
    add('sustained', 'sustained1', target, (x, p) => sustained(x, p, 1, 64, s.sustainedSeconds));
    add('sustained', 'sustained50', target, (x, p) => sustained(x, p, 50, 8, s.sustainedSeconds));
  }
  for (const target of [t.relay, t.ours]) {
    add('fanout', 'fanout', target, (x, p) => fanout(x, p, s.fanoutRecipients, s.fanoutSamples, s.fanoutBurst));
  }
  // Memory per idle partner is read on a server started for it: earlier scenarios leave heap slack
  // that new connections would fill without growing RSS.
  for (const [target, start] of [
    [t.relay, t.fresh.relay],
    [t.ours, t.fresh.ours],
  ] as const) {
    if (start)
      add('idle', 'idle', target, (x, p) => onFresh(x.label, start, (fresh) => idle(fresh, p, s.idlePartners)));
  }
  add('storm', 'storm', t.ours, (x, p) => storm(x, p, s.stormPartners));
  // Start-up, compiled: the partner talks to our broker when there is one (registration is part
  // of its start), else to nobody.
  const launch = startupLaunches(ROOT, dir, t.ours?.server.httpUrl ?? 'http://127.0.0.1:9');
  const startup = (key: string, label: string, run: () => Promise<unknown>) =>
    jobs.push({ scenario: 'startup', key, label, run });
  startup('spawn', 'minimal SDK server', () => mcpSpawn(launch.sdkServer, s.spawnSamples));
  startup('spawn', 'ours', () => mcpSpawn(launch.partner, s.spawnSamples));
  startup('hook', 'node -e ""', () => commandRun(launch.bareNode, s.hookSamples));
  // The hook acts as a registered partner, reading its conversations and unread messages.
  let registered: Promise<unknown> | undefined;
  startup('hook', 'ours', async () => {
    registered ??= commandRun(launch.register, 1);
    await registered;
    return commandRun(launch.hook, s.hookSamples);
  });
  const starts = (server: (port: number) => Launch) => async () => {
    const port = await freePort();
    return serverStart(server(port), port, s.spawnSamples);
  };
  startup('broker', 'Fastify, one route', starts(launch.fastify));
  startup('broker', 'ours', starts(launch.broker));
  add('last-mile', 'lastmile', t.ours, (x, p) => lastMile(x, p, s.lastMile));
  return jobs;
}

async function runRound(round: number, rounds: number, jobs: readonly Job[]): Promise<RoundFigures> {
  const figures: RoundFigures = {};
  // Group by figure and flip the order each round, so neither side always goes first.
  const keys = [...new Set(jobs.map((job) => job.key))];
  for (const key of keys) {
    const group = jobs.filter((job) => job.key === key);
    if (round % 2 === 0) group.reverse();
    figures[key] = {};
    for (const job of group) {
      const prefix = `r${round}-${key}-${job.label === 'ours' ? 'o' : 'a'}`.replace(/[^a-z0-9-]/g, '');
      const t0 = Date.now();
      try {
        const result = await job.run(prefix);
        figures[key][job.label] = result;
        log(
          `bench: round ${round}/${rounds} ${key} ${job.label}: ${brief(result)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        );
      } catch (error) {
        figures[key][job.label] = { error: (error as Error).message };
        log(`bench: round ${round}/${rounds} ${key} ${job.label} FAILED: ${(error as Error).message}`);
      }
    }
  }
  return figures;
}

function brief(result: unknown): string {
  return JSON.stringify(result, (_key, value: unknown) =>
    typeof value === 'number' ? Number(value.toPrecision(4)) : value,
  );
}

/** The median over rounds of one number taken from one server's result for one figure. */
function pick<T>(
  rounds: readonly RoundFigures[],
  key: string,
  label: string,
  get: (result: T) => number | undefined,
): number | undefined {
  const values = rounds.map((round) => {
    const result = round[key]?.[label];
    if (result === undefined || (typeof result === 'object' && result !== null && 'error' in result)) return undefined;
    return get(result as T);
  });
  const m = median(values);
  return Number.isNaN(m) ? undefined : m;
}

function failed(rounds: readonly RoundFigures[], key: string, label: string): string | undefined {
  for (const round of rounds) {
    const result = round[key]?.[label];
    if (typeof result === 'object' && result !== null && 'error' in result) return String(result.error);
  }
  return undefined;
}

function buildRows(
  rounds: readonly RoundFigures[],
  options: BenchOptions,
  haveBroker: boolean,
  postgres: PostgresTargets | undefined,
): Row[] {
  const s = options.sizes;
  const ours = haveBroker ? 'ours' : 'none';
  const rows: Row[] = [];
  const has = (key: string) => rounds.some((round) => round[key] !== undefined);

  if (has('latency')) {
    const lat = (label: string, q: 'p50' | 'p99') => pick<Summary>(rounds, 'latency', label, (r) => r[q]);
    const error = failed(rounds, 'latency', 'ours');
    rows.push(
      {
        scenario: 'talk→inbox WS p50',
        anchorName: 'persisted floor',
        anchor: lat('persisted floor', 'p50'),
        ours: lat(ours, 'p50'),
        unit: 'ms',
        better: 'lower',
        goal: { ratio: 1.5 },
        error,
      },
      {
        scenario: 'talk→inbox WS p50',
        anchorName: 'raw ws relay',
        anchor: lat('raw ws', 'p50'),
        ours: lat(ours, 'p50'),
        unit: 'ms',
        better: 'lower',
        goal: { ratio: 3 },
        error,
      },
      {
        scenario: 'talk→inbox WS p99',
        anchorName: 'persisted floor',
        anchor: lat('persisted floor', 'p99'),
        ours: lat(ours, 'p99'),
        unit: 'ms',
        better: 'lower',
        goal: { ratio: 2 },
        error,
      },
      {
        scenario: 'talk→inbox WS p99',
        anchorName: 'raw ws relay',
        anchor: lat('raw ws', 'p99'),
        ours: lat(ours, 'p99'),
        unit: 'ms',
        better: 'lower',
      },
    );
  }
  if (postgres) rows.push(...postgresRows(rounds, postgres));
  if (has('rest')) {
    const lat = (label: string, q: 'p50' | 'p99') => pick<RestLatency>(rounds, 'rest', label, (r) => r[q]);
    const repeats = pick<RestLatency>(rounds, 'rest', ours, (r) => r.repeats);
    rows.push(
      {
        scenario: 'talk→inbox REST p50',
        anchorName: 'raw HTTP long-poll',
        anchor: lat('raw HTTP long-poll', 'p50'),
        ours: lat(ours, 'p50'),
        unit: 'ms',
        better: 'lower',
        goal: haveBroker ? { checks: [{ ok: repeats === 0, text: 'no message returned twice' }] } : undefined,
        error: failed(rounds, 'rest', 'ours'),
        note: haveBroker ? `repeated by a later long-poll: ${repeats ?? '—'} (median per round)` : undefined,
      },
      {
        scenario: 'talk→inbox REST p99',
        anchorName: 'raw HTTP long-poll',
        anchor: lat('raw HTTP long-poll', 'p99'),
        ours: lat(ours, 'p99'),
        unit: 'ms',
        better: 'lower',
      },
    );
  }
  for (const [key, name] of [
    ['sustained1', 'sustained 1→1'],
    ['sustained50', 'sustained 50 conversations'],
  ] as const) {
    if (!has(key)) continue;
    const get = (label: string, f: (r: SustainedResult) => number) => pick<SustainedResult>(rounds, key, label, f);
    const sum = (f: (r: SustainedResult) => number) =>
      rounds.reduce(
        (acc, round) => acc + (isResult<SustainedResult>(round[key]?.ours) ? f(round[key].ours as SustainedResult) : 0),
        0,
      );
    const [lost, dup, order] = [sum((r) => r.lost), sum((r) => r.duplicates), sum((r) => r.outOfOrder)];
    const delivered = get(ours, (r) => r.delivered);
    rows.push({
      scenario: name,
      anchorName: 'persisted floor',
      anchor: get('persisted floor', (r) => r.msgPerSec),
      ours: get(ours, (r) => r.msgPerSec),
      unit: 'msg/s',
      better: 'higher',
      goal: { ratio: 0.5, checks: [{ ok: haveBroker && lost + dup + order === 0, text: '0 lost/dup/reordered' }] },
      error: failed(rounds, key, 'ours'),
      note: haveBroker
        ? `delivered ${Math.round(delivered ?? 0)}, lost ${lost}, dup ${dup}, out of order ${order}`
        : undefined,
    });
  }
  if (has('fanout')) {
    const get = (label: string, f: (r: FanoutResult) => number) => pick<FanoutResult>(rounds, 'fanout', label, f);
    const n = s.fanoutRecipients;
    rows.push(
      {
        scenario: `fan-out 1→${n} first p50`,
        anchorName: 'raw ws fan-out',
        anchor: get('raw ws', (r) => r.firstP50),
        ours: get(ours, (r) => r.firstP50),
        unit: 'ms',
        better: 'lower',
      },
      {
        scenario: `fan-out 1→${n} last p50`,
        anchorName: 'raw ws fan-out',
        anchor: get('raw ws', (r) => r.lastP50),
        ours: get(ours, (r) => r.lastP50),
        unit: 'ms',
        better: 'lower',
        goal: { ratio: 2 },
        error: failed(rounds, 'fanout', 'ours'),
      },
      {
        scenario: `fan-out 1→${n} last p99`,
        anchorName: 'raw ws fan-out',
        anchor: get('raw ws', (r) => r.lastP99),
        ours: get(ours, (r) => r.lastP99),
        unit: 'ms',
        better: 'lower',
      },
      {
        scenario: `fan-out 1→${n} burst`,
        anchorName: 'raw ws fan-out',
        anchor: get('raw ws', (r) => r.deliveriesPerSec),
        ours: get(ours, (r) => r.deliveriesPerSec),
        unit: 'deliv/s',
        better: 'higher',
        note: haveBroker ? `lost ${get('ours', (r) => r.lost) ?? '—'}` : undefined,
      },
    );
  }
  if (has('idle')) {
    const get = (label: string, f: (r: IdleResult) => number | undefined) => pick<IdleResult>(rounds, 'idle', label, f);
    const n = s.idlePartners;
    rows.push(
      {
        scenario: `${n} idle partners: RSS each`,
        anchorName: 'raw ws',
        anchor: get('raw ws', (r) => r.rssPerPartnerBytes),
        ours: get(ours, (r) => r.rssPerPartnerBytes),
        unit: 'bytes',
        better: 'lower',
        goal: { ratio: 2 },
        error: failed(rounds, 'idle', 'ours'),
        note: haveBroker
          ? `connect all: ${get('ours', (r) => r.connectSeconds)?.toFixed(2)} s (raw ${get('raw ws', (r) => r.connectSeconds)?.toFixed(2)} s)`
          : undefined,
      },
      {
        scenario: `${n} idle partners: heartbeat sweep`,
        anchorName: 'raw ws',
        anchor: get('raw ws', (r) => r.sweepMs),
        ours: get(ours, (r) => r.sweepMs),
        unit: 'ms',
        better: 'lower',
        note:
          get('ours', (r) => r.heartbeatMs) === undefined
            ? undefined
            : `interval ${get('ours', (r) => r.heartbeatMs)} ms (raw ${ANCHOR_HEARTBEAT_MS} ms)`,
      },
    );
  }
  if (has('storm')) {
    const get = (f: (r: StormResult) => number) => pick<StormResult>(rounds, 'storm', 'ours', f);
    const lost = get((r) => r.lost + r.duplicates + r.failedReconnects);
    rows.push({
      scenario: `reconnect storm ${s.stormPartners}: all resumed`,
      anchorName: '—',
      anchor: undefined,
      ours: get((r) => r.resumeSeconds),
      unit: 's',
      better: 'lower',
      goal: { checks: [{ ok: lost === 0, text: '0 lost/dup' }] },
      error: failed(rounds, 'storm', 'ours'),
      note: `lost ${get((r) => r.lost)}, dup ${get((r) => r.duplicates)}, failed reconnects ${get((r) => r.failedReconnects)}`,
    });
  }
  if (has('spawn')) {
    const get = (label: string, f: (r: SpawnResult) => number) => pick<SpawnResult>(rounds, 'spawn', label, f);
    const error = failed(rounds, 'spawn', 'ours');
    rows.push(
      {
        scenario: 'partner spawn → tools/list',
        anchorName: 'minimal SDK server',
        anchor: get('minimal SDK server', (r) => r.readyMs),
        ours: get('ours', (r) => r.readyMs),
        unit: 'ms',
        better: 'lower',
        goal: { ratio: 1.15 },
        error,
        note: `compiled dist/, median of ${s.spawnSamples} spawns per round`,
      },
      {
        scenario: 'partner idle RSS',
        anchorName: 'minimal SDK server',
        anchor: get('minimal SDK server', (r) => r.rssBytes),
        ours: get('ours', (r) => r.rssBytes),
        unit: 'bytes',
        better: 'lower',
        goal: { ratio: 1.2 },
        error,
        note: 'one second after tools/list',
      },
    );
  }
  if (has('hook')) {
    const get = (label: string) => pick<CommandResult>(rounds, 'hook', label, (r) => r.ms);
    rows.push({
      scenario: 'duo hook session-start',
      anchorName: 'node -e ""',
      anchor: get('node -e ""'),
      ours: get('ours'),
      unit: 'ms',
      better: 'lower',
      goal: { ratio: 1.5 },
      error: failed(rounds, 'hook', 'ours'),
      note: `a registered partner's hook, spawn → exit, median of ${s.hookSamples} per round`,
    });
  }
  if (has('broker')) {
    const get = (label: string) => pick<CommandResult>(rounds, 'broker', label, (r) => r.ms);
    rows.push({
      scenario: 'broker start → /health',
      anchorName: 'Fastify, one route',
      anchor: get('Fastify, one route'),
      ours: get('ours'),
      unit: 'ms',
      better: 'lower',
      goal: { ratio: 1.5 },
      error: failed(rounds, 'broker', 'ours'),
      note: `compiled dist/, SQLite, median of ${s.spawnSamples} starts per round`,
    });
  }
  if (has('lastmile')) rows.push(...lastMileRows(rounds.map((round) => round.lastmile?.ours).find(Boolean)));
  if (has('sqlite')) {
    const get = (f: (r: SqliteResult) => number) => pick<SqliteResult>(rounds, 'sqlite', 'raw better-sqlite3', f);
    rows.push({
      scenario: 'one-row commit p50 (reference)',
      anchorName: 'raw better-sqlite3',
      anchor: get((r) => r.p50),
      ours: undefined,
      unit: 'ms',
      better: 'lower',
      note: `p99 ${get((r) => r.p99)?.toFixed(3)} ms, ${Math.round(get((r) => r.insertsPerSecond) ?? 0)} commits/s, WAL + synchronous=FULL`,
    });
  }
  return rows;
}

/** Team mode: our broker on PostgreSQL beside the PostgreSQL floor, and two brokers beside one. */
function postgresRows(rounds: readonly RoundFigures[], postgres: PostgresTargets): Row[] {
  const lat = (label: string, q: 'p50' | 'p99') => pick<Summary>(rounds, 'pglatency', label, (r) => r[q]);
  const common = { unit: 'ms', better: 'lower', skipped: postgres.skipped } as const;
  const oneError = postgres.error ?? failed(rounds, 'pglatency', 'ours');
  const twoError = postgres.error ?? failed(rounds, 'pglatency', TWO_BROKERS);
  const two = 'sender on broker A, recipient on broker B';
  return [
    {
      ...common,
      scenario: 'PostgreSQL talk→inbox p50',
      anchorName: 'pg floor',
      anchor: lat('pg floor', 'p50'),
      ours: lat('ours', 'p50'),
      error: oneError,
      note: 'one broker',
    },
    {
      ...common,
      scenario: 'PostgreSQL talk→inbox p99',
      anchorName: 'pg floor',
      anchor: lat('pg floor', 'p99'),
      ours: lat('ours', 'p99'),
      error: oneError,
      note: 'one broker',
    },
    {
      ...common,
      scenario: 'two brokers talk→inbox p50',
      anchorName: 'one broker (PostgreSQL)',
      anchor: lat('ours', 'p50'),
      ours: lat(TWO_BROKERS, 'p50'),
      error: twoError,
      note: two,
    },
    {
      ...common,
      scenario: 'two brokers talk→inbox p99',
      anchorName: 'one broker (PostgreSQL)',
      anchor: lat('ours', 'p99'),
      ours: lat(TWO_BROKERS, 'p99'),
      error: twoError,
      note: two,
    },
    {
      ...common,
      scenario: 'two brokers talk→inbox p50',
      anchorName: 'pg floor',
      anchor: lat('pg floor', 'p50'),
      ours: lat(TWO_BROKERS, 'p50'),
      error: twoError,
      note: 'both wait for the NOTIFY; B also reads the message back',
    },
  ];
}

/**
 * send → the model's next request holding the text, per rung, beside the broker's own push in the
 * same run. Goals from the issue: listen ≤ 150 ms p50, an idle session's wake ≤ 1.5 s p50.
 */
function lastMileRows(result: unknown): Row[] {
  const failedAll = isResult<LastMileResult>(result)
    ? undefined
    : String((result as { error?: unknown } | undefined)?.error ?? 'did not run');
  const r = isResult<LastMileResult>(result) ? result : undefined;
  const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms` : '—');
  const line = (name: string, rung: Rung | undefined, goalMs: number | undefined, how = ''): Row => {
    const p50 = rung && rung.n > 0 ? rung.p50 : undefined;
    return {
      scenario: `send → model request: ${name} p50`,
      anchorName: 'broker push to a raw WS partner',
      anchor: r?.push.p50,
      ours: p50,
      unit: 'ms',
      better: 'lower',
      goal:
        goalMs === undefined
          ? undefined
          : {
              checks: [{ ok: p50 !== undefined && p50 <= goalMs, text: `p50 ≤ ${goalMs.toLocaleString('en-US')} ms` }],
            },
      error: failedAll ?? rung?.error,
      skipped: rung?.skipped,
      note: r
        ? `p90 ${ms(rung!.p90)} (push p90 ${ms(r.push.p90)}), ${rung!.n} round(s)${how}, Claude Code ${r.version}, fake model answering at once`
        : undefined,
    };
  };
  return [
    line('listen waiting', r?.listen, 150),
    line('idle session woken (Stop hook)', r?.idle, 1500),
    line(
      'busy session, a later tool call',
      r?.busy,
      undefined,
      ", sent at random within the hook's default look interval",
    ),
    line('busy session, looking at every tool call', r?.busyEveryCall, undefined, ', DUO_HOOK_LOOK_SECONDS=0'),
  ];
}

function isResult<T>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && !('error' in value);
}

function report(options: BenchOptions, started: number, rounds: readonly RoundFigures[], rows: readonly Row[]) {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    commit = undefined;
  }
  return {
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date().toISOString(),
    mode: options.full ? 'full' : 'quick',
    sizes: options.sizes,
    machine: {
      node: process.version,
      platform: process.platform,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      totalMemBytes: totalmem(),
      loadavg: loadavg(),
    },
    commit,
    rounds,
    table: rows.map((row) => ({ ...row, ...judge(row) })),
  };
}

main()
  .catch((error: unknown) => {
    log(`bench: stopped by an error: ${(error as Error).stack ?? String(error)}`);
  })
  .finally(() => {
    // Never fail the build; and do not wait for stray sockets to let the loop drain.
    process.exit(0);
  });
