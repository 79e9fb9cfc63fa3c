/**
 * Command-line options of `npm run bench`. Quick mode (about two minutes) runs three interleaved
 * rounds of the short scenarios and the long ones (sustained, idle, storm) once, scaled down;
 * `--full` runs every scenario in each of five interleaved rounds, at full scale.
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  full: boolean;
  rounds: number;
  /** Where to write the raw figures as JSON, if anywhere. */
  json: string | undefined;
  /** Directory for a V8 CPU profile of the broker (`node --cpu-prof`), if wanted. */
  cpuProf: string | undefined;
  /** Scenario names to run; all when empty. */
  only: string[];
  /** Measure the anchors only (useful while the broker does not exist yet). */
  skipBroker: boolean;
  /** Whether the long scenarios (sustained, idle, storm) run every round or only in the first. */
  heavyEveryRound: boolean;
  sizes: Sizes;
}

/** How much work each scenario does per round. */
export interface Sizes {
  latencySamples: number;
  restLatencySamples: number;
  /** Per server of the PostgreSQL rows (floor, one broker, two brokers), a few ms each. */
  pgLatencySamples: number;
  sustainedSeconds: number;
  fanoutRecipients: number;
  fanoutSamples: number;
  fanoutBurst: number;
  idlePartners: number;
  stormPartners: number;
  /** Fresh processes per round for the start-up rows (MCP server spawn, the hook). */
  spawnSamples: number;
  hookSamples: number;
  /** The last mile through the real Claude Code: broker pushes, and rounds per rung. */
  lastMile: { pushSamples: number; listenRounds: number; idleRounds: number; busyRounds: number };
}

const QUICK: Sizes = {
  latencySamples: 1500,
  restLatencySamples: 400,
  pgLatencySamples: 600,
  sustainedSeconds: 3,
  fanoutRecipients: 100,
  fanoutSamples: 60,
  fanoutBurst: 100,
  idlePartners: 5000,
  stormPartners: 1000,
  spawnSamples: 5,
  hookSamples: 7,
  lastMile: { pushSamples: 200, listenRounds: 10, idleRounds: 5, busyRounds: 6 },
};

const FULL: Sizes = {
  latencySamples: 4000,
  restLatencySamples: 1000,
  pgLatencySamples: 2000,
  sustainedSeconds: 6,
  fanoutRecipients: 100,
  fanoutSamples: 150,
  fanoutBurst: 300,
  idlePartners: 10_000,
  stormPartners: 1000,
  spawnSamples: 9,
  hookSamples: 15,
  lastMile: { pushSamples: 500, listenRounds: 20, idleRounds: 10, busyRounds: 12 },
};

export const SCENARIOS = [
  'sqlite',
  'latency',
  'rest',
  'sustained',
  'fanout',
  'idle',
  'storm',
  'startup',
  'postgres',
  'last-mile',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Long scenarios: in quick mode they run in the first round only. */
export const HEAVY_SCENARIOS: readonly ScenarioName[] = ['sustained', 'idle', 'storm'];
/** Scenarios that keep their own rounds inside one run (each starts real Claude Code sessions): once per bench. */
export const ONCE_SCENARIOS: readonly ScenarioName[] = ['last-mile'];

const USAGE = `usage: npm run bench [-- [--full] [--rounds N] [--json FILE] [--only a,b] [--cpu-prof DIR] [--no-broker] [--idle N]]

  --full          several interleaved rounds at full scale (10k idle partners)
  --rounds N      number of interleaved rounds (quick: 3, full: 5)
  --json FILE     write the raw figures of every round to FILE
  --only LIST     run only these scenarios: ${SCENARIOS.join(', ')}
  --cpu-prof DIR  write a V8 CPU profile of the broker into DIR
  --no-broker     measure the anchors only
  --idle N        number of idle partners (quick: 5000, full: 10000)`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      json: { type: 'string' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'no-broker': { type: 'boolean', default: false },
      idle: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const rounds = values.rounds === undefined ? (values.full ? 5 : 3) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive whole number\n${USAGE}`);
  const only =
    values.only === undefined
      ? []
      : values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const name of only) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`unknown scenario "${name}"\n${USAGE}`);
  }
  return {
    full: values.full,
    rounds,
    json: values.json,
    cpuProf: values['cpu-prof'],
    only,
    skipBroker: values['no-broker'],
    heavyEveryRound: values.full,
    sizes: {
      ...(values.full ? FULL : QUICK),
      ...(values.idle === undefined ? {} : { idlePartners: Number(values.idle) }),
    },
  };
}
