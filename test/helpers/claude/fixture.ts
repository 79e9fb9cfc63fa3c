/**
 * The shared set-up of a scenario file against the real Claude Code: one broker and one fake
 * Messages API for the file, and per Claude Code version one home with duo installed (installs
 * take seconds, so they are reused; each test uses project folders of its own, so partners never
 * collide). Every Claude Code a test started is killed after it; everything else after the file.
 *
 * A version that cannot be installed makes its tests skip with the reason (a failure under
 * DUO_REQUIRE_CLAUDE_CODE=1); so does a missing tmux for the tests that need it.
 */
import { afterAll, afterEach, beforeAll, type TestContext } from 'vitest';
import { sleep } from '../scale.ts';
import type { BrokerConfigInput } from '../../../src/shared/config.ts';
import { startBroker, type TestBroker } from '../broker.ts';
import { RestPartner } from '../clients.ts';
import { claudeBinary, ClaudeHome, tmuxSkipReason, type Binary } from './claude-code.ts';
import { FakeApi } from './fake-api.ts';

/** The duo tools as Claude Code names them for the model. */
export const TALK = 'mcp__duo__talk';
export const LISTEN = 'mcp__duo__listen';

export interface ClaudeFixture {
  broker: TestBroker;
  api: FakeApi;
  home: ClaudeHome;
  /** A name unique in this file, for projects (partner ids) of one test: `alice` → `alice-3`. */
  name(base: string): string;
  /** A REST partner registered now under a unique name. */
  peer(base: string): Promise<RestPartner>;
}

export interface FixtureOptions {
  versions: string[];
  /** Broker settings (e.g. a small loop-guard budget). */
  broker?: Partial<BrokerConfigInput>;
  /** Extra environment for every Claude Code run. */
  env?: Record<string, string>;
}

/**
 * Waits until the broker handed message `id` to `member`'s live session (its receipt, as the
 * sender's history shows it, is `pushed` or `seen`). A broker without receipts cannot say: then
 * it waits a second, ample for a push on this machine.
 */
export async function untilPushed(sender: RestPartner, conversationId: string, id: number, member: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const message = (await sender.history(conversationId)).find((m) => m.id === id);
    if (message?.receipts === undefined) return sleep(1000);
    if (message.receipts[member] === 'pushed' || message.receipts[member] === 'seen') return;
    if (Date.now() > deadline) throw new Error(`message ${id} was not pushed to ${member} within 10 s`);
    await sleep(25);
  }
}

/**
 * Registers the file's hooks and returns `use(ctx, version)`, which a test calls first: it skips
 * the test when that Claude Code (or tmux, with `needsTmux`) is not available here.
 */
export function claudeFixture(options: FixtureOptions) {
  let broker: TestBroker | undefined;
  let api: FakeApi | undefined;
  const binaries = new Map<string, Binary>();
  const homes = new Map<string, ClaudeHome>();
  let names = 0;

  beforeAll(async () => {
    [broker, api] = await Promise.all([startBroker(options.broker), FakeApi.start()]);
    await Promise.all(
      options.versions.map(async (version) => {
        const binary = await claudeBinary(version);
        binaries.set(version, binary);
        if ('skip' in binary) return;
        homes.set(version, await ClaudeHome.create(binary, { brokerUrl: broker!.url, env: options.env }));
      }),
    );
  }, 360_000);

  afterEach(async () => {
    await Promise.all([...homes.values()].map((home) => home.killAll()));
    try {
      api?.check();
    } finally {
      api?.reset();
    }
  });

  afterAll(async () => {
    await ClaudeHome.stopAll();
    await api?.close();
    await broker?.close();
  }, 60_000);

  return function use(ctx: TestContext, version: string, needs: { tmux?: boolean } = {}): ClaudeFixture {
    const binary = binaries.get(version);
    if (binary === undefined) throw new Error(`Claude Code ${version} is not one of this file's versions`);
    if ('skip' in binary) ctx.skip(binary.skip);
    const noTmux = needs.tmux ? tmuxSkipReason() : undefined;
    if (noTmux !== undefined) ctx.skip(noTmux);
    const home = homes.get(version)!;
    const unique = (base: string) => `${base}-${++names}`;
    return {
      broker: broker!,
      api: api!,
      home,
      name: unique,
      peer: (base) => RestPartner.register(broker!.url, unique(base)),
    };
  };
}
