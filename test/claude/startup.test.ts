/**
 * Start-up inside Claude Code's own MCP wait: headless `claude -p` (2.1.197, tool search off, so
 * it waits about 2 s for every MCP server and then starts without the late ones) is started 20
 * times in a row while two processes keep both cores busy. Every session must show duo
 * connected in its init line and offer duo's tools in its first model request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAUDE_CODE_OLDEST } from '../helpers/claude/claude-code.ts';
import { text } from '../helpers/claude/fake-api.ts';
import { claudeFixture, LISTEN, TALK } from '../helpers/claude/fixture.ts';

const STARTS = 20;
const use = claudeFixture({ versions: [CLAUDE_CODE_OLDEST] });

describe(`Claude Code ${CLAUDE_CODE_OLDEST}, headless, on a loaded machine`, () => {
  const busy: ChildProcess[] = [];
  beforeAll(() => {
    for (let i = 0; i < 2; i++) busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  });
  afterAll(() => {
    for (const child of busy) child.kill('SIGKILL');
  });

  it(`${STARTS} starts with Claude Code's default MCP wait: duo connected and its tools in the first request, every time`, async (ctx) => {
    const { api, home, name } = use(ctx, CLAUDE_CODE_OLDEST);
    const alice = home.project(name('alice'));
    api.setModel(() => text('Nothing to do.'));
    const outcomes: string[] = [];
    for (let start = 1; start <= STARTS; start++) {
      const before = api.count();
      // The defaults: no MCP_CONNECTION_NONBLOCKING override, and no tool search (so the wait
      // covers every server, as on a provider without it).
      const run = alice.headless('Say hello.', {
        api,
        env: { MCP_CONNECTION_NONBLOCKING: '', ENABLE_TOOL_SEARCH: 'false' },
      });
      const status = await run.duoStatus(60_000);
      expect((await run.result(60_000)).subtype, run.output()).toBe('success');
      await run.done;
      const first = api.turns(before)[0];
      const offered = [TALK, LISTEN].filter((tool) => first?.body.tools?.some((t) => t.name === tool));
      outcomes.push(`start ${start}: ${status}, ${offered.length === 2 ? 'tools offered' : 'TOOLS MISSING'}`);
    }
    expect(outcomes).toEqual(Array.from({ length: STARTS }, (_, i) => `start ${i + 1}: connected, tools offered`));
  }, 600_000);
});
