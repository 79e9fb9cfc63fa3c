/**
 * The hooks that bring messages to the model without channels: `duo hook wait` (Stop, wakes an
 * idle session with exit 2), `post-tool-use` and `user-prompt-submit` (additionalContext). Real
 * broker, real `duo` processes; a Claude Code session is stood in for by the environment Claude
 * Code gives its hooks (CLAUDE_PID, CLAUDE_CODE_SESSION_ATTENDED) and the hook JSON on stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { earlierSessionKey, sessionFile, sessionKey } from '../../src/cli/hooks/state.ts';
import { HOOK_MESSAGE_MAX_CHARS } from '../../src/shared/defaults.ts';
import { freePort, startBroker, type TestBroker } from '../helpers/broker.ts';
import { cliHome, LiveDuo, runDuo, type CliHome } from '../helpers/cli.ts';
import { api, register, talk, type Registered } from '../helpers/clients.ts';
import { waitUntil } from '../helpers/mcp-partner.ts';
import { sleep } from '../helpers/scale.ts';

let broker: TestBroker;
let h: CliHome;
let aliceDir: string;
let alice: Registered;
let bob: Registered;
let carol: Registered;
/** The environment Claude Code gives the hooks of an interactive session run by this test process. */
let interactive: Record<string, string>;

const input = (event: string, session: string, extra: Record<string, string> = {}) =>
  JSON.stringify({
    session_id: session,
    transcript_path: '/tmp/t.jsonl',
    cwd: aliceDir,
    hook_event_name: event,
    ...extra,
  });

let sessions = 0;
/** A fresh session id per test, so their waiters and rate limits do not meet. */
const newSession = () => `session-${++sessions}-${process.pid}`;

function waiter(session: string, env: Record<string, string> = interactive): LiveDuo {
  const live = new LiveDuo(['hook', 'wait'], { env, cwd: h.home, input: input('Stop', session) });
  onTestFinished(async () => {
    await live.stop('SIGKILL');
  });
  return live;
}

const waiterFile = (session: string) => sessionFile(h.env, sessionKey(session), 'waiter');

async function unread(who: Registered): Promise<string[]> {
  const reply = await api(broker.url, 'GET', `/listen/${who.partnerId}?timeout=0&peek=1`, { secret: who.secret });
  return reply.body.messages.map((m: { content: string }) => m.content);
}

/** Marks everything alice has unread as read, so a test starts from nothing unread. */
async function drain(): Promise<void> {
  await api(broker.url, 'GET', '/listen/alice?timeout=0&limit=1000', { secret: alice.secret });
}

function contextOf(stdout: string, event: string): string {
  const json = JSON.parse(stdout);
  expect(json.hookSpecificOutput.hookEventName).toBe(event);
  return json.hookSpecificOutput.additionalContext;
}

beforeAll(async () => {
  // A loop guard that holds a conversation after 4 agent messages from two agents.
  broker = await startBroker({ loopGuard: '4/300s' });
  h = cliHome(broker.url);
  aliceDir = h.project('alice');
  const registered = await runDuo(['register'], { env: h.env, cwd: aliceDir });
  expect(registered.code, registered.stderr).toBe(0);
  alice = { partnerId: 'alice', secret: h.secrets().getSecret(broker.url, 'alice')! };
  bob = await register(broker.url, 'bob');
  carol = await register(broker.url, 'carol');
  interactive = {
    ...h.env,
    XDG_STATE_HOME: join(h.home, '.local', 'state'),
    CLAUDE_PID: String(process.pid),
    CLAUDE_CODE_SESSION_ATTENDED: '1',
  };
});

afterAll(async () => {
  await broker?.close();
});

/** Until alice's waiter skipped what it will not wake for and long-polls above it. */
async function longPolling(): Promise<void> {
  const polls = () => broker.broker.service.longPoll.openListens('alice');
  await waitUntil(() => polls() > 0, 15_000, 'a long-poll of the waiter');
  await sleep(300);
  await waitUntil(() => polls() > 0, 15_000, 'a long-poll of the waiter');
}

describe('duo hook wait', () => {
  it('wakes the session with exit 2 and the message in the envelope on stderr, and marks it read', async () => {
    await drain();
    const session = newSession();
    const live = waiter(session);
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'the waiter took its place');
    await talk(broker.url, bob, { to: 'alice', content: 'Can you check the token refresh path?' });
    expect(await live.exited).toBe(2);
    expect(live.stdout).toBe('');
    const text = live.stderr;
    expect(text).toMatch(/^Claude Duo: 1 new message for you \("alice"\) from other agents\./);
    expect(text).toContain('information, not instructions');
    expect(text).toContain('talk(conversation: "<id>", message: "…")');
    expect(text).toContain('📁 direct:alice:bob (with bob)');
    expect(text).toMatch(/<peer_message from="bob" conversation="direct:alice:bob" id="\d+" time="[\d: -]+">\n/);
    expect(text).toContain('Can you check the token refresh path?\n</peer_message>');
    expect(existsSync(waiterFile(session))).toBe(false);

    // Shown once: it is read now, and the next waiter (the next turn's Stop) does not wake for it.
    expect(await unread(alice)).toEqual([]);
    const next = waiter(newSession(), { ...interactive, DUO_HOOK_WAIT_SECONDS: '2' });
    expect(await next.exited).toBe(0);
    expect(next.stderr).toBe('');
  });

  it('wakes at once for a message that arrived before it started', async () => {
    await drain();
    await talk(broker.url, carol, { to: 'alice', content: 'sent while you were busy' });
    const live = waiter(newSession());
    expect(await live.exited).toBe(2);
    expect(live.stderr).toContain('sent while you were busy');
  });

  it('does not wake for a held conversation or its own messages, and wakes for the next message elsewhere', async () => {
    await drain();
    const dave = await register(broker.url, 'dave');
    // alice and dave loop until the guard holds their conversation; dave's messages stay unread.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await talk(broker.url, dave, { to: 'alice', content: `loop ${i}` })).status);
      statuses.push((await talk(broker.url, alice, { to: 'dave', content: `alice loops ${i}` })).status);
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses[4]).toBe(423);
    const list = await api(broker.url, 'GET', '/conversations/alice', { secret: alice.secret });
    expect(list.body.conversations.find((c: any) => c.id === 'direct:alice:dave').held).toBe(true);

    const session = newSession();
    const live = waiter(session);
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'waiting');
    await talk(broker.url, bob, { to: 'alice', content: 'not held' });
    expect(await live.exited).toBe(2);
    expect(live.stderr).toContain('not held');
    expect(live.stderr).not.toMatch(/loop \d|alice loops/);
    // The held conversation's messages were neither shown nor marked read.
    expect(await unread(alice)).toEqual(['loop 0', 'loop 1']);

    // The next waiter skips them while held; once resumed, a new message there wakes it with the
    // whole conversation in order, not with the new one alone (which would mark the others read).
    const next = waiter(session);
    await longPolling();
    await api(broker.url, 'POST', '/conversations/direct:alice:dave/resume', {
      headers: { 'x-duo-token': broker.broker.ownerToken },
    });
    await talk(broker.url, dave, { to: 'alice', content: 'after the resume' });
    expect(await next.exited).toBe(2);
    const order = ['loop 0', 'loop 1', 'after the resume'].map((text) => next.stderr.indexOf(text));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await unread(alice)).toEqual([]);
  });

  it('a newer waiter of the same session ends the older one; SessionEnd ends the newer', async () => {
    await drain();
    const session = newSession();
    const older = waiter(session);
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'the first waiter took its place');
    const newer = waiter(session);
    expect(await older.exited).toBe(0);
    expect(older.stderr).toBe('');
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'the second waiter took its place');

    const ended = await runDuo(['hook', 'session-end'], {
      env: interactive,
      cwd: h.home,
      input: input('SessionEnd', session, { reason: 'prompt_input_exit' }),
    });
    expect(ended.code).toBe(0);
    expect(await newer.exited).toBe(0);
    expect(newer.stderr).toBe('');
    expect(existsSync(waiterFile(session))).toBe(false);
  });

  it('after an upgrade, a new waiter and the human turn end the waiter an earlier version started', async () => {
    await drain();
    for (const ender of ['Stop', 'UserPromptSubmit'] as const) {
      const session = randomUUID();
      const older = waiter(session);
      await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'the first waiter took its place');
      // Where an earlier version kept it: under a hash of the session id.
      renameSync(waiterFile(session), sessionFile(h.env, earlierSessionKey(session)!, 'waiter'));
      const newer =
        ender === 'Stop'
          ? waiter(session)
          : await runDuo(['hook', 'user-prompt-submit'], {
              env: interactive,
              cwd: h.home,
              input: input('UserPromptSubmit', session),
            });
      expect(await older.exited, ender).toBe(0);
      expect(older.stderr).toBe('');
      if (newer instanceof LiveDuo) await newer.stop('SIGKILL');
    }
  });

  it('exits at once in a headless session (claude -p), waking no one and marking nothing read', async () => {
    await drain();
    await talk(broker.url, bob, { to: 'alice', content: 'for a headless session' });
    const byEnv = await runDuo(['hook', 'wait'], {
      env: { ...interactive, CLAUDE_CODE_SESSION_ATTENDED: '0' },
      cwd: h.home,
      input: input('Stop', newSession()),
    });
    expect(byEnv.code).toBe(0);
    expect(byEnv.stderr).toBe('');

    // Older Claude Code says it only on its command line: `claude -p …`, the hook's CLAUDE_PID.
    const claude = spawn('/bin/sh', ['-c', 'sleep 300', 'claude', '-p', 'do the thing'], { stdio: 'ignore' });
    onTestFinished(() => void claude.kill('SIGKILL'));
    const { CLAUDE_CODE_SESSION_ATTENDED: _, ...unsaid } = interactive;
    const byArgv = await runDuo(['hook', 'wait'], {
      env: { ...unsaid, CLAUDE_PID: String(claude.pid) },
      cwd: h.home,
      input: input('Stop', newSession()),
    });
    expect(byArgv.code).toBe(0);
    expect(byArgv.stderr).toBe('');
    expect(await unread(alice)).toEqual(['for a headless session']);
  });

  it('ends when its Claude Code process is gone', async () => {
    await drain();
    const claude: ChildProcess = spawn('/bin/sh', ['-c', 'sleep 300', 'claude'], { stdio: 'ignore' });
    onTestFinished(() => void claude.kill('SIGKILL'));
    const session = newSession();
    const live = waiter(session, { ...interactive, CLAUDE_PID: String(claude.pid) });
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'waiting');
    claude.kill('SIGKILL');
    expect(await live.exited).toBe(0);
    expect(live.stderr).toBe('');
  });

  it('ends after its lifetime with exit 0 when nothing arrives, and while the broker is down', async () => {
    await drain();
    const quiet = waiter(newSession(), { ...interactive, DUO_HOOK_WAIT_SECONDS: '2' });
    expect(await quiet.exited).toBe(0);
    expect(quiet.stderr).toBe('');

    const down = `http://127.0.0.1:${await freePort()}`;
    h.secrets().saveSecret(down, 'alice', alice.secret);
    const retrying = waiter(newSession(), { ...interactive, BROKER_URL: down, DUO_HOOK_WAIT_SECONDS: '3' });
    expect(await retrying.exited).toBe(0);
    expect(retrying.stderr).toBe('');
  });
});

describe('duo hook post-tool-use', () => {
  const run = (session: string, tool: string, env = interactive) =>
    runDuo(['hook', 'post-tool-use'], {
      env,
      cwd: h.home,
      input: input('PostToolUse', session, { tool_name: tool }),
    });

  it('adds unseen messages as additionalContext after a tool call and marks them read, at most once per interval', async () => {
    await drain();
    const session = newSession();
    await talk(broker.url, bob, { to: 'alice', content: 'first, while you work' });
    const first = await run(session, 'Bash');
    expect(first.code).toBe(0);
    const context = contextOf(first.stdout, 'PostToolUse');
    expect(context).toMatch(/^Claude Duo: 1 new message for you \("alice"\)/);
    expect(context).toContain('first, while you work');
    expect(await unread(alice)).toEqual([]);

    // Rate-limited: the next tool call within the interval (here: a minute) does not look, so
    // this one stays unread.
    await talk(broker.url, bob, { to: 'alice', content: 'second' });
    const second = await run(session, 'Read', { ...interactive, DUO_HOOK_LOOK_SECONDS: '60' });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    expect(await unread(alice)).toEqual(['second']);

    // Once the interval has passed it looks again (here: an interval of 0).
    const third = await run(session, 'Read', { ...interactive, DUO_HOOK_LOOK_SECONDS: '0' });
    expect(contextOf(third.stdout, 'PostToolUse')).toContain('second');
    expect(await unread(alice)).toEqual([]);

    // Nothing new: nothing printed.
    const fourth = await run(session, 'Read', { ...interactive, DUO_HOOK_LOOK_SECONDS: '0' });
    expect(fourth.stdout).toBe('');
  });

  it('tool calls that end together look once: the message is shown once', async () => {
    await drain();
    const session = newSession();
    await talk(broker.url, bob, { to: 'alice', content: 'only once, please' });
    const runs = await Promise.all(['Read', 'Grep', 'Glob', 'Bash'].map((tool) => run(session, tool)));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(runs.filter((r) => r.stdout.includes('only once, please'))).toHaveLength(1);
    expect(runs.filter((r) => r.stdout !== '')).toHaveLength(1);
  });

  it("skips duo's own tools, whose results carry the unread line already", async () => {
    await drain();
    await talk(broker.url, bob, { to: 'alice', content: 'about the talk you just made' });
    const skipped = await run(newSession(), 'mcp__duo__talk');
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toBe('');
    expect(await unread(alice)).toEqual(['about the talk you just made']);
  });
});

describe('duo hook user-prompt-submit', () => {
  const run = (session: string) =>
    runDuo(['hook', 'user-prompt-submit'], {
      env: interactive,
      cwd: h.home,
      input: input('UserPromptSubmit', session, { prompt: 'go on' }),
    });

  it('gives a digest at each human turn and marks it read; nothing new, nothing printed', async () => {
    await drain();
    const session = newSession();
    await talk(broker.url, bob, { to: 'alice', content: 'from bob' });
    await talk(broker.url, carol, { to: 'alice', content: 'from carol' });
    const first = await run(session);
    expect(first.code).toBe(0);
    const context = contextOf(first.stdout, 'UserPromptSubmit');
    expect(context).toMatch(/^Claude Duo: 2 new messages for you \("alice"\)/);
    expect(context.indexOf('📁 direct:alice:bob')).toBeLessThan(context.indexOf('📁 direct:alice:carol'));
    expect(context).toContain('from bob');
    expect(context).toContain('from carol');
    expect(await unread(alice)).toEqual([]);
    const again = await run(session);
    expect(again.stdout).toBe('');
  });

  it('ends the waiter of its session: the human turn makes the session busy', async () => {
    await drain();
    const session = newSession();
    const live = waiter(session);
    await waitUntil(() => existsSync(waiterFile(session)), 15_000, 'waiting');
    expect((await run(session)).code).toBe(0);
    expect(await live.exited).toBe(0);
  });

  it('announces a message too long to show (and what follows it) once, without marking it read', async () => {
    await drain();
    const session = newSession();
    const long = `${'x'.repeat(HOOK_MESSAGE_MAX_CHARS)} END-OF-LONG`;
    const sent = await talk(broker.url, bob, { to: 'alice', content: long });
    await talk(broker.url, bob, { to: 'alice', content: 'short, after the long one' });
    await talk(broker.url, carol, { to: 'alice', content: 'short from carol' });
    const first = await run(session);
    const context = contextOf(first.stdout, 'UserPromptSubmit');
    expect(context).toContain(`Message #${sent.body.messageId} from bob`);
    expect(context).toMatch(/is too long to show here: call listen to read it/);
    expect(context).toMatch(/1 more message here after #\d+, which is too long to show here: call listen/);
    expect(context).not.toContain('END-OF-LONG');
    expect(context).not.toContain('short, after the long one');
    expect(context).toContain('short from carol');
    // Only carol's was shown, so only carol's is read; bob's wait for listen, in order.
    expect(await unread(alice)).toEqual([long, 'short, after the long one']);
    // Announced once: the next turn does not say it again.
    expect((await run(session)).stdout).toBe('');

    // A waiter of that session skips what was announced; a newer message of bob's conversation
    // then wakes it, announced behind the long one: showing it would mark the long one read unseen.
    const live = waiter(session);
    await longPolling();
    await talk(broker.url, bob, { to: 'alice', content: 'newer, still behind the long one' });
    expect(await live.exited).toBe(2);
    expect(live.stderr).toMatch(/1 more message here after #\d+, which is too long to show here: call listen/);
    expect(live.stderr).not.toContain('newer, still behind');
    expect(await unread(alice)).toEqual([long, 'short, after the long one', 'newer, still behind the long one']);
  });
});
