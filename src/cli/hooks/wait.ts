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
 * - It only peeks (a long-poll with `peek=1`), never taking messages from the partner, and idles
 *   on that one request: no timers but a check every few seconds that the session's claude
 *   process still runs.
 * - No wake for the partner's own messages or for held conversations: those are skipped with
 *   `above`, so the next long-poll does not answer with them again.
 * - One wake per message: what it showed is marked read; what it only announced is remembered.
 * - It ends when the session ends (SIGTERM from Claude Code or SessionEnd, or its claude process
 *   gone), and after its lifetime (HOOK_WAIT_LIFETIME_MS); the next Stop starts another.
 * - While the broker is down it tries again with a backoff until its lifetime ends. It exits 2
 *   only with a message to show.
 */
import {
  HOOK_PARENT_CHECK_MS,
  HOOK_RETRY_BASE_MS,
  HOOK_RETRY_CAP_MS,
  HOOK_WAIT_POLL_SECONDS,
  LISTEN_BATCH,
} from '../../shared/defaults.ts';
import type { CliContext, Env } from '../command.ts';
import type { ActingAs } from '../identity.ts';
import type { Digest } from './digest.ts';
import type { HookInput } from './input.ts';
import { claudePid, isAlive, isHeadless } from './processes.ts';
import { waitLifetimeMs } from './settings.ts';
import { sessionKey } from './state.ts';
import { claimWaiter } from './waiter-lock.ts';

export async function run(ctx: CliContext, input: HookInput, broker: string | undefined): Promise<number> {
  const pid = claudePid(ctx.env);
  if (isHeadless(ctx.env, pid)) return 0;
  const key = sessionKey(input.session_id, `claude-${pid ?? 'unknown'}`);
  const release = claimWaiter(ctx.env, key);
  if (!release) return 0;

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
    const { waitForDigest, settleWake } = await loadWaiting();
    const found = await waitForDigest(ctx, input, broker, key, Date.now() + waitLifetimeMs(ctx.env));
    if (!found) return 0;
    waking = true;
    ctx.err(`${found.digest.text}\n`);
    // Shown now: marking it read may fail (broker gone), then it is shown again later, never lost.
    await settleWake(found, ctx.env, key).catch(() => undefined);
    return 2;
  } finally {
    clearInterval(parentCheck);
    for (const signal of signals) process.off(signal, quit);
    release();
  }
}

/** The part that talks to the broker, loaded only once the session is known to be interactive. */
async function loadWaiting() {
  const [{ Backoff }, { DuoError }, look] = await Promise.all([
    import('../../client/backoff.ts'),
    import('../../shared/errors.ts'),
    import('./look.ts'),
  ]);

  async function waitForDigest(
    ctx: CliContext,
    input: HookInput,
    broker: string | undefined,
    key: string,
    deadline: number,
  ): Promise<Found | undefined> {
    const backoff = new Backoff({ baseMs: HOOK_RETRY_BASE_MS, capMs: HOOK_RETRY_CAP_MS });
    let acting: ActingAs | undefined;
    let above = 0;
    let pollSeconds = HOOK_WAIT_POLL_SECONDS;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining < 1_000) return undefined;
      const timeout = Math.min(pollSeconds, Math.floor(remaining / 1000));
      let asked = false;
      try {
        // Again after a failure: the partner may have registered meanwhile.
        acting ??= look.sessionPartner(ctx, input, broker);
        const started = Date.now();
        asked = true;
        const { messages } = await acting.client.listen({
          timeout,
          peek: true,
          limit: LISTEN_BATCH,
          ...(above > 0 ? { above } : {}),
        });
        if (messages.length === 0) {
          // Answered long before its timeout with nothing: a newer listen of this partner took its
          // place (the broker keeps a few per partner). Let that one be, for a while.
          if (Date.now() - started < (timeout * 1000) / 2) await sleep(Math.min(backoff.next(), remaining));
          else backoff.reset();
          continue;
        }
        backoff.reset();
        const { digest } = await look.prepare(acting, messages, ctx.env, key, { skipHeld: true });
        if (digest.text !== '') return { acting, digest };
        // Nothing to wake for (held, or announced before): wait for what comes after.
        above = Math.max(above, ...messages.map((m) => m.id));
      } catch (error) {
        if (asked && error instanceof DuoError && error.code === 'bad_request' && pollSeconds > 1) {
          // A broker whose longest listen is shorter than ours.
          pollSeconds = Math.max(1, Math.floor(pollSeconds / 2));
          continue;
        }
        if (error instanceof DuoError && error.code === 'unauthorized') acting = undefined;
        await sleep(Math.min(backoff.next(), Math.max(0, deadline - Date.now())));
      }
    }
  }

  return {
    waitForDigest,
    settleWake: (found: Found, env: Env, key: string) => look.settle(found.acting, found.digest, env, key),
  };
}

interface Found {
  acting: ActingAs;
  digest: Digest;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
