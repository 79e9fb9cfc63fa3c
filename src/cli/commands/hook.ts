/**
 * `duo hook <event>`: the Claude Code hooks `duo install` adds, each in its own module under
 * hooks/, loaded on demand so the hooks that run most often load least.
 *
 * A hook must never block or fail a session: every path exits 0 (the one exception is the
 * waiter's deliberate exit 2, which wakes an idle session with a message), a hard timer ends the
 * process whatever the network does, and stdin is read with a deadline because Claude Code does
 * not always close it. All of them act as the partner of the session's project (its `cwd`), with
 * the secret from the per-user store, like the partner itself.
 */
import { describeError } from '../../shared/errors.ts';
import { parse, type CliContext, type Command, type Env } from '../command.ts';
import { readHookInput, type HookInput } from '../hooks/input.ts';
import { waitLifetimeMs } from '../hooks/settings.ts';

interface Hook {
  /** How long the whole hook may take, loading included, before the backstop ends it with exit 0. */
  budgetMs(env: Env): number;
  load(): Promise<{ run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> }>;
}

const HOOKS: Record<string, Hook> = {
  'session-start': { budgetMs: () => 4_000, load: () => import('../hooks/session-start.ts') },
  // Within Claude Code's short budget at exit.
  'session-end': { budgetMs: () => 1_000, load: () => import('../hooks/session-end.ts') },
  // A little past its lifetime, well within the timeout `duo install` gives it.
  wait: { budgetMs: (env) => waitLifetimeMs(env) + 15_000, load: () => import('../hooks/wait.ts') },
  'post-tool-use': { budgetMs: () => 3_000, load: () => import('../hooks/post-tool-use.ts') },
  'user-prompt-submit': { budgetMs: () => 3_000, load: () => import('../hooks/user-prompt-submit.ts') },
};
const NAMES = Object.keys(HOOKS).join(', ');

const STDIN_DEADLINE_MS = 300;

export const command: Command = {
  name: 'hook',
  summary: 'Claude Code hooks',
  help: `Usage: duo hook <event> [--broker URL]

Run by Claude Code (see "duo install"); reads the hook's JSON (session_id, cwd, …) from stdin.
  session-start       (SessionStart) prints this project's partner id, open conversations, unread
                      counts and short previews; one line if the broker is down. Marks nothing read.
  session-end         (SessionEnd) ends the session's waiter and marks the partner offline
                      (skipped for /clear, where the session goes on).
  wait                (Stop, async) waits for the next unread message and exits 2 with it on
                      stderr, which wakes the idle session; exits at once under claude -p.
  post-tool-use       (PostToolUse) unread messages as additionalContext, at most every 2 s.
  user-prompt-submit  (UserPromptSubmit) unread messages as additionalContext at each human turn.
What a hook shows in full is marked read; nothing is shown twice. Every hook exits 0, except a
waiter that wakes the session (2).`,
  async run(args, ctx) {
    let broker: string | undefined;
    let event: string | undefined;
    try {
      const { values, positionals } = parse(args, { broker: { type: 'string' } });
      broker = values.broker;
      event = positionals[0];
    } catch (error) {
      ctx.err(`duo hook: ${describeError(error)}\n`);
    }
    const hook = event !== undefined && Object.hasOwn(HOOKS, event) ? HOOKS[event] : undefined;
    if (!hook) {
      // A mistyped hook in settings.json must not fail every session: say it, exit 0.
      ctx.err(
        `duo hook: name the event, one of ${NAMES} (got ${event === undefined ? 'none' : JSON.stringify(event)}); see duo hook --help.\n`,
      );
      return 0;
    }
    // The backstop: whatever is still pending, the hook is over.
    setTimeout(() => process.exit(0), hook.budgetMs(ctx.env)).unref();
    try {
      const [{ run }, input] = await Promise.all([hook.load(), readHookInput(ctx.stdin, STDIN_DEADLINE_MS)]);
      const code = await run(ctx, input, broker);
      return code === 2 && event === 'wait' ? 2 : 0;
    } catch (error) {
      // Even a broken secrets file or configuration must not fail the session: say it and move on.
      if (event === 'session-start') ctx.out(`Claude Duo: ${describeError(error)}\n`);
      else ctx.err(`duo hook ${event}: ${describeError(error)}\n`);
      return 0;
    }
  },
};
