/**
 * `duo hook wait`, the Stop hook that wakes an idle session. Claude Code runs it in the background
 * after every turn (`"async": true, "asyncRewake": true`); when it exits 2, its stderr goes to the
 * model and the session takes a turn. So it waits for the next unread message of the project's
 * partner, writes the digest (digest.ts) to stderr, marks read what that showed, and exits 2.
 *
 * Rules:
 * - Headless (`claude -p`): exits 0 at once. Nobody is there to wake, and `claude -p` waits for a
 *   running Stop hook before it exits.
 * - One waiter per session (waiter-lock.ts): a newer one ends the older.
 * - It only peeks (wait-loop.ts: a long-poll with `peek=1`), never taking messages from the
 *   partner, and idles on that one request: no timers but a check every few seconds that the
 *   session's claude process still runs.
 * - No wake for the partner's own messages or for held conversations (wait-loop.ts skips them).
 * - One wake per message: what it showed is marked read; what it only announced is remembered.
 * - It ends when the session ends (SIGTERM from Claude Code or SessionEnd, or its claude process
 *   gone), and after its lifetime (HOOK_WAIT_LIFETIME_MS); the next Stop starts another.
 * - While the broker is down it tries again with a backoff until its lifetime ends. It exits 2
 *   only with a message to show.
 */
import { HOOK_PARENT_CHECK_MS } from '../../shared/defaults.ts';
import type { CliContext } from '../command.ts';
import type { HookInput } from './input.ts';
import { claudePid, isAlive, isHeadless } from './processes.ts';
import { waitLifetimeMs } from './settings.ts';
import { sessionKey } from './state.ts';
import { claimWaiter, endEarlierWaiter, isCurrentWaiter } from './waiter-lock.ts';

export async function run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> {
  const pid = claudePid(ctx.env);
  if (isHeadless(ctx.env, pid)) return 0;
  const key = sessionKey(input.session_id, `claude-${pid ?? 'unknown'}`);
  const release = claimWaiter(ctx.env, key);
  if (!release) return 0;
  endEarlierWaiter(ctx.env, input.session_id);

  // Once the wake is being written it is finished: an interrupted one could mark read what never arrived.
  let waking = false;
  const quit = () => {
    if (waking) return;
    release();
    process.exit(0);
  };
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, quit);
  const parentCheck = setInterval(() => {
    if (pid !== undefined && !isAlive(pid)) quit();
  }, HOOK_PARENT_CHECK_MS);
  parentCheck.unref();
  try {
    // Loaded only now that the session is known to be interactive.
    const [{ waitForDigest }, { settle }] = await Promise.all([import('./wait-loop.ts'), import('./look.ts')]);
    const found = await waitForDigest(ctx, input, broker, key, Date.now() + waitLifetimeMs(ctx.env));
    if (!found) return 0;
    // A session that ended meanwhile, or a newer waiter of it, gets no wake: nobody would read it.
    if ((pid !== undefined && !isAlive(pid)) || !isCurrentWaiter(ctx.env, key)) return 0;
    waking = true;
    ctx.err(`${found.digest.text}\n`);
    // Shown now: marking it read may fail (broker gone), then it is shown again later, never lost.
    await settle(found.acting, found.digest, ctx.env, key).catch(() => undefined);
    return 2;
  } finally {
    clearInterval(parentCheck);
    for (const signal of signals) process.off(signal, quit);
    release();
  }
}
