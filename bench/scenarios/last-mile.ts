/**
 * The last mile: from bob's send to the recipient *model's* next request that holds the text,
 * through the real Claude Code (the latest version, installed from the npm registry) and the fake
 * Messages API of the tests, whose scripted model answers at once. Three rungs:
 *
 * - listen: the model is inside `listen` (headless `claude -p`); the clock starts once its call
 *   has had time to park.
 * - idle: an interactive session (tmux) whose turn ended; the Stop hook `duo hook wait` must wake
 *   it. The clock starts after the turn ended and the hook had time to arm.
 * - busy: a headless model that keeps calling a quick tool (Read); PostToolUse must add the text
 *   after a later call: with the hooks' default look interval, and looking at every call.
 *
 * Beside them, the broker's own push to a raw WebSocket partner of the same broker, sent the same
 * way (REST /talk), in the same run. Each rung reports p50 and p90 over its rounds, or why it did
 * not run (Claude Code not installable, no tmux) or failed (no delivery within the deadline).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOOK_LOOK_INTERVAL_MS } from '../../src/shared/defaults.ts';
import type { Message, TalkReply } from '../../src/shared/protocol.ts';
import {
  CLAUDE_CODE_LATEST,
  claudeBinary,
  ClaudeHome,
  tmuxSkipReason,
  type Project,
} from '../../test/helpers/claude/claude-code.ts';
import { FakeApi, text, toolCall, type Turn } from '../../test/helpers/claude/fake-api.ts';
import { register, WsPartner } from '../lib/partner.ts';
import { percentile } from '../lib/stats.ts';
import type { Target } from '../lib/target.ts';

const LISTEN = 'mcp__duo__listen';
/** How long a rung waits for one message to reach the model before it gives up. */
const DEADLINE_MS = 20_000;
/** After the model's listen call is answered: time for Claude Code to run it and the partner to park it. */
const LISTEN_SETTLE_MS = 500;
/** After an idle turn ended: time for the Stop hook's waiter to start and arm. */
const IDLE_SETTLE_MS = 2_000;

export interface Rung {
  n: number;
  p50: number;
  p90: number;
  /** The rung ran but a message did not reach the model (or another failure). */
  error?: string;
  /** The rung could not run here at all. */
  skipped?: string;
}

export interface LastMileResult {
  version: string;
  push: Rung;
  listen: Rung;
  idle: Rung;
  /** Busy, with the hooks' default look interval. */
  busy: Rung;
  /** Busy, with the hook looking at every tool call (DUO_HOOK_LOOK_SECONDS=0): the path's own cost. */
  busyEveryCall: Rung;
}

export interface LastMileSizes {
  pushSamples: number;
  listenRounds: number;
  idleRounds: number;
  busyRounds: number;
}

function rung(samples: number[], error?: string): Rung {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), error };
}

const skipped = (reason: string): Rung => ({ n: 0, p50: Number.NaN, p90: Number.NaN, skipped: reason });

export async function lastMile(target: Target, prefix: string, sizes: LastMileSizes): Promise<LastMileResult> {
  const version = CLAUDE_CODE_LATEST;
  // bob sends over REST, the same way for every rung and for the broker's own push.
  const bobSecret = await register(target.http, `${prefix}-bob`);
  const deliver: Deliver = (to, content) => target.http.ok<TalkReply>('POST', '/talk', { to, content }, bobSecret);
  const push = await pushRung(target, prefix, sizes.pushSamples, deliver);

  const binary = await claudeBinary(version);
  if ('skip' in binary) {
    const why = `Claude Code ${version}: ${binary.skip}`;
    return { version, push, listen: skipped(why), idle: skipped(why), busy: skipped(why), busyEveryCall: skipped(why) };
  }
  const api = await FakeApi.start();
  const home = await ClaudeHome.create(binary, {
    brokerUrl: target.server.httpUrl,
    env: { DUO_OWNER_TOKEN_FILE: process.env.DUO_OWNER_TOKEN_FILE ?? '' },
  });
  // One rung at a time, each with its own project (partner) and a fresh script.
  const next = async () => {
    await home.killAll();
    api.reset();
  };
  try {
    const listen = await guarded(() =>
      listenRung(home.project(`${prefix}-listener`), api, sizes.listenRounds, deliver),
    );
    await next();
    const noTmux = tmuxSkipReason();
    const idle =
      noTmux !== undefined
        ? skipped(noTmux)
        : await guarded(() => idleRung(home.project(`${prefix}-idler`), api, sizes.idleRounds, deliver));
    await next();
    const busy = await guarded(() => busyRung(home.project(`${prefix}-worker`), api, sizes.busyRounds, deliver, false));
    await next();
    const busyEveryCall = await guarded(() =>
      busyRung(home.project(`${prefix}-eager`), api, sizes.busyRounds, deliver, true),
    );
    return { version, push, listen, idle, busy, busyEveryCall };
  } finally {
    await home.stop();
    await api.close();
  }
}

type Deliver = (to: string, content: string) => Promise<unknown>;

/** A rung's samples so far and the error that stopped it, instead of losing both to a throw. */
class Stopped extends Error {
  constructor(
    readonly samples: number[],
    message: string,
  ) {
    super(message);
  }
}

async function guarded(run: () => Promise<number[]>): Promise<Rung> {
  try {
    return rung(await run());
  } catch (error) {
    if (error instanceof Stopped) return rung(error.samples, error.message);
    return rung([], (error as Error).message);
  }
}

/** bob POSTs /talk; a raw WebSocket partner of the same broker gets the push. */
async function pushRung(target: Target, prefix: string, samples: number, deliver: Deliver): Promise<Rung> {
  const id = `${prefix}-ws`;
  const secret = await register(target.http, id);
  let arrived: ((message: Message, at: number) => void) | undefined;
  const partner = await WsPartner.connect(target.server.wsUrl, id, secret, {
    onMessage: (message, at) => arrived?.(message, at),
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + 5; i++) {
      const content = `push ${i}`;
      const got = new Promise<number>((resolve) => {
        arrived = (message, at) => {
          if (message.content === content) resolve(at);
        };
      });
      const t0 = performance.now();
      await deliver(id, content);
      const at = await got;
      if (i >= 5) latencies.push(at - t0);
    }
  } finally {
    await partner.close();
  }
  return rung(latencies);
}

/** Sends `content` and returns the time until a model request holds it. */
async function timeToModel(api: FakeApi, deliver: Deliver, to: string, content: string, after: number) {
  const t0 = performance.now();
  await deliver(to, content);
  const turn = await api.waitForText(content, { after, timeoutMs: DEADLINE_MS }).catch(() => {
    throw new Error(`"${content}" did not reach the model within ${DEADLINE_MS / 1000} s`);
  });
  return { ms: turn.request.at - t0, turn };
}

async function listenRung(project: Project, api: FakeApi, rounds: number, deliver: Deliver): Promise<number[]> {
  api.setModel((turn) => turn.call(LISTEN, { timeout: 300 }));
  const run = project.headless('Wait for messages and read each one.', { api });
  const samples: number[] = [];
  let after = 0;
  try {
    for (let i = 0; i < rounds; i++) {
      const parked = await api.waitFor((t) => t.answeredWith(LISTEN), {
        after,
        timeoutMs: 30_000,
        what: 'calling listen',
      });
      await sleep(LISTEN_SETTLE_MS);
      const { ms, turn } = await timeToModel(api, deliver, project.name, `listen round ${i}`, parked.request.n);
      samples.push(ms);
      after = turn.request.n - 1;
    }
  } catch (error) {
    throw new Stopped(samples, `${(error as Error).message}${run.child.exitCode === null ? '' : `\n${run.output()}`}`);
  }
  return samples;
}

async function idleRung(project: Project, api: FakeApi, rounds: number, deliver: Deliver): Promise<number[]> {
  api.setModel(() => text('Noted.'));
  const session = await project.interactive({ api });
  const samples: number[] = [];
  try {
    await session.type('Wait for messages.');
    let last: Turn = await api.waitForText('Wait for messages.');
    for (let i = 0; i < rounds; i++) {
      await answered(last);
      await sleep(IDLE_SETTLE_MS);
      const { ms, turn } = await timeToModel(api, deliver, project.name, `idle round ${i}`, last.request.n);
      samples.push(ms);
      last = turn;
    }
  } catch (error) {
    throw new Stopped(samples, (error as Error).message);
  }
  return samples;
}

/**
 * The PostToolUse hook looks at most once per interval (HOOK_LOOK_INTERVAL_MS by default,
 * DUO_HOOK_LOOK_SECONDS), so with the default the rounds are spread over that long: a message
 * arrives at a random point of the hook's cycle, as a real one does.
 */
const LOOK_INTERVAL_MS = HOOK_LOOK_INTERVAL_MS;

async function busyRung(
  project: Project,
  api: FakeApi,
  rounds: number,
  deliver: Deliver,
  lookEveryCall: boolean,
): Promise<number[]> {
  const notes = join(project.dir, 'NOTES.md');
  writeFileSync(notes, 'a file the busy model keeps reading\n');
  let done = false;
  // The model works: one quick tool call after another, until the rounds are over.
  api.setModel(() => (done ? text('Done.') : toolCall('Read', { file_path: notes })));
  const env: Record<string, string> = lookEveryCall ? { DUO_HOOK_LOOK_SECONDS: '0' } : {};
  const run = project.headless('Keep reading NOTES.md.', { api, env });
  const samples: number[] = [];
  try {
    await api.waitFor((t) => t.answeredWith('Read'), { timeoutMs: 30_000, what: 'calling Read' });
    for (let i = 0; i < rounds; i++) {
      // Anywhere within a tool call's cycle, or the hook's.
      await sleep(Math.random() * (lookEveryCall ? 500 : LOOK_INTERVAL_MS));
      const { ms } = await timeToModel(api, deliver, project.name, `busy round ${i}`, api.count());
      samples.push(ms);
    }
  } catch (error) {
    throw new Stopped(samples, `${(error as Error).message}${run.child.exitCode === null ? '' : `\n${run.output()}`}`);
  } finally {
    done = true;
  }
  return samples;
}

async function answered(turn: Turn): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (turn.request.repliedAt === undefined) {
    if (Date.now() > deadline) throw new Error(`the fake did not answer request ${turn.request.n}`);
    await sleep(20);
  }
}
