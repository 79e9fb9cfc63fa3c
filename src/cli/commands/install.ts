/**
 * `duo install`: adds the duo partner to Claude Code (`claude mcp add`) and duo's hooks to its
 * settings (hooks.ts lists what each does), in user or project scope. It prints every command
 * before running it, runs `claude` only after a yes (or --yes), merges settings without touching
 * what is already there (after a backup), and is idempotent: a second run changes nothing.
 * `duo uninstall` undoes both.
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { HOOK_WAIT_LIFETIME_MS, HOOK_WAIT_TIMEOUT_MARGIN_SECONDS } from '../../shared/defaults.ts';
import { COMPILED_ENTRY, COMPILED_HOOKS } from '../../shared/entry.ts';
import { DisplayName } from '../../shared/protocol.ts';
import { parse, UsageError, type CliContext, type Command } from '../command.ts';
import {
  ASYNC_REWAKE_SINCE,
  findClaude,
  mergeHooks,
  readJsonObject,
  settingsPath,
  writeJsonWithBackup,
  type HookSpec,
  type Scope,
} from '../claude-code.ts';
import { findDuoServers } from '../claude-mcp.ts';
import { cliSetup } from '../identity.ts';

/** What Claude Code runs: the compiled entry of this package, by absolute path, never a TypeScript loader. */
export const BIN_PATH = COMPILED_ENTRY;
/** Every tool but duo's own (Claude Code reads a hook matcher as a regular expression). */
export const POST_TOOL_USE_MATCHER = '^(?!mcp__duo__)';
export const CHANNELS_LAUNCH = 'claude --dangerously-load-development-channels server:duo';

/**
 * The MCP server entry. `alwaysLoad` keeps duo's tools out of Claude Code's deferred tool search,
 * and it is what makes a headless `claude -p` wait for the server before its first request when
 * tool search is on (as against Anthropic's API): without it duo is still "pending" there.
 */
export function serverEntry(brokerUrl: string, name: string | undefined): Record<string, unknown> {
  return {
    type: 'stdio',
    command: 'node',
    args: [BIN_PATH, 'partner'],
    env: { BROKER_URL: brokerUrl, ...(name === undefined ? {} : { PARTNER_NAME: name }) },
    alwaysLoad: true,
  };
}

/** The hooks `duo install` adds, running the hooks' own compiled entry, for `brokerUrl`. */
export function duoHookSpecs(brokerUrl: string): HookSpec[] {
  const run = (subcommand: string) =>
    `node ${shellQuote(COMPILED_HOOKS)} hook ${subcommand} --broker ${shellQuote(brokerUrl)}`;
  return [
    { event: 'SessionStart', matcher: 'startup|resume|clear|compact', command: run('session-start'), timeout: 10 },
    { event: 'SessionEnd', command: run('session-end'), timeout: 5 },
    {
      event: 'Stop',
      command: run('wait'),
      // Claude Code ends an async hook at its timeout (600 s when none is given): past the waiter's lifetime.
      timeout: HOOK_WAIT_LIFETIME_MS / 1000 + HOOK_WAIT_TIMEOUT_MARGIN_SECONDS,
      async: true,
      asyncRewake: true,
    },
    // Claude Code waits for a PostToolUse hook before its next request: duo's own tools (whose
    // results carry the unread footer) must not pay a process start each.
    { event: 'PostToolUse', matcher: POST_TOOL_USE_MATCHER, command: run('post-tool-use'), timeout: 10 },
    { event: 'UserPromptSubmit', command: run('user-prompt-submit'), timeout: 10 },
  ];
}

export const command: Command = {
  name: 'install',
  summary: 'Add the partner and its hooks to Claude Code',
  help: `Usage: duo install [--scope user|project] [--yes] [--broker URL] [--name NAME] [--no-hooks]

Adds Claude Duo to Claude Code:
  1. the partner as the MCP server "duo":
       claude mcp add-json duo '{"type":"stdio","command":"node","args":["<package>/dist/src/cli/main.js","partner"],
         "env":{"BROKER_URL":"<url>"[,"PARTNER_NAME":"<name>"]},"alwaysLoad":true}' -s <scope>
     (printed, then run after you confirm, or at once with --yes; skipped when duo is already there)
  2. the hooks that bring messages to the model, merged into ~/.claude/settings.json (user scope)
     or <project>/.claude/settings.json (project scope): SessionStart and SessionEnd
     ("duo hook session-start|session-end"), Stop ("duo hook wait", async: wakes an idle session),
     PostToolUse and UserPromptSubmit ("duo hook post-tool-use|user-prompt-submit"). The old file
     is kept as settings.json.bak-<time>; other settings and hooks are left alone.
Running it again adds nothing; duo uninstall removes both.

  --scope user|project  user: every project (default); project: this folder only (.mcp.json)
  --yes                 Run "claude mcp add-json" without asking
  --broker URL          Broker the partner and hooks use (BROKER_URL, default http://localhost:3210)
  --name NAME           Display name for this project's partner (PARTNER_NAME; project scope)
  --no-hooks            Leave the Claude Code settings alone`,
  async run(args, ctx) {
    const { values } = parse(
      args,
      {
        scope: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        broker: { type: 'string' },
        name: { type: 'string' },
        'no-hooks': { type: 'boolean' },
      },
      false,
    );
    const scope = (values.scope ?? 'user') as Scope;
    if (scope !== 'user' && scope !== 'project') throw new UsageError('--scope is "user" or "project".');
    if (values.name !== undefined && !DisplayName.safeParse(values.name).success)
      throw new UsageError('--name must be 1-100 characters.');
    const { config } = cliSetup(ctx, { broker: values.broker });
    const brokerUrl = config.brokerUrl;
    let failed = false;

    // 1. The MCP server.
    const present = findDuoServers(ctx.env, config.projectDir).filter((entry) =>
      scope === 'user' ? entry.scope === 'user' : entry.scope !== 'user',
    );
    if (present.length > 0) {
      ctx.out(`✓ Claude Code already runs the duo partner (${present[0]!.where}); left as it is.\n`);
      ctx.out(
        `  To replace it: claude mcp remove ${present[0]!.name} -s ${present[0]!.scope}, then run duo install again.\n`,
      );
    } else {
      const added = await offerClaudeCommand(ctx, {
        args: ['mcp', 'add-json', 'duo', JSON.stringify(serverEntry(brokerUrl, values.name)), '-s', scope],
        cwd: config.projectDir,
        yes: values.yes,
        heading: 'Add the partner to Claude Code',
        notOnPath: 'once Claude Code is installed',
        done: 'Added the duo MCP server',
        rerun: 'duo install --yes',
      });
      if (!added) failed = true;
      if (config.token)
        ctx.out(
          '  DUO_TOKEN is set: the partner needs it too; add it to the "env" of the duo entry in ~/.claude.json (user scope; never in a committed .mcp.json).\n',
        );
    }

    // 2. The hooks.
    if (!values['no-hooks']) {
      const file = settingsPath(scope, ctx.env, config.projectDir);
      const { settings, added, updated } = mergeHooks(readJsonObject(file), duoHookSpecs(brokerUrl), file);
      const changes = [
        ...(added.length > 0 ? [`added the ${list(added)} hook${added.length === 1 ? '' : 's'}`] : []),
        ...(updated.length > 0 ? [`updated the ${list(updated)} hook${updated.length === 1 ? '' : 's'}`] : []),
      ];
      if (changes.length === 0) {
        ctx.out(`✓ The duo hooks are already in ${file}.\n`);
      } else {
        const backup = writeJsonWithBackup(file, settings);
        ctx.out(
          `✓ ${capitalize(changes.join(' and '))} in ${file}${backup ? ` (previous file kept as ${backup})` : ''}.\n`,
        );
      }
    }

    const approve =
      scope === 'project'
        ? `  0. Approve the project's server: Claude Code asks once, the first time you start claude in this
     folder ("New MCP server found in this project: duo" → "Use this MCP server"); until then
     \`claude mcp list\` shows it as "Pending approval" and the partner does not run.
`
        : '';
    const delivery = values['no-hooks']
      ? `Without the hooks, messages reach the model when the agent calls listen or talk, or the
     moment they arrive with channels, where Claude Code offers them:
       ${CHANNELS_LAUNCH}`
      : `The hooks bring each message to the model: with its next tool call or your next prompt
     while it works, and by waking the session when it is idle (Claude Code ${ASYNC_REWAKE_SINCE} or
     later). Channels are optional; where Claude Code offers them, they show a message the moment
     it arrives:
       ${CHANNELS_LAUNCH}`;
    ctx.out(`
Next:
${approve}  1. Start Claude Code as usual (\`claude\`). ${delivery}
     The partner starts a broker by itself when none runs at ${brokerUrl};
     \`duo broker status\` shows it, \`duo broker stop\` stops it.
  2. Check everything:  duo doctor
`);
    return failed ? 1 : 0;
  },
};

/** Asks a yes/no question on the terminal; only yes (or y) is yes. */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Prints `claude <args>`, then runs it: at once with --yes, after a yes at a terminal, else not
 * (saying how to). Returns false only when it ran and failed.
 */
export async function offerClaudeCommand(
  ctx: CliContext,
  offer: {
    args: string[];
    cwd: string;
    yes: boolean | undefined;
    heading: string;
    notOnPath: string;
    done: string;
    rerun: string;
  },
): Promise<boolean> {
  ctx.out(`${offer.heading}:\n  ${['claude', ...offer.args].map(shellQuote).join(' ')}\n`);
  const claude = findClaude(ctx.env);
  if (!claude) {
    ctx.out(`  The claude command is not on PATH: run the line above ${offer.notOnPath}.\n`);
    return true;
  }
  if (!(offer.yes || (ctx.interactive && (await confirm(ctx, 'Run it now? [y/N] '))))) {
    ctx.out(`  Not run: run it yourself, or run ${offer.rerun}.\n`);
    return true;
  }
  const result = spawnSync(claude, offer.args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: ctx.env as NodeJS.ProcessEnv,
    cwd: offer.cwd,
    timeout: 60_000,
  });
  if (result.status === 0) {
    ctx.out(`✓ ${offer.done}.\n`);
    return true;
  }
  ctx.err(
    `✗ "claude ${offer.args.slice(0, 2).join(' ')}" failed (${result.error?.message ?? `exit ${result.status}`}); run the line above yourself.\n`,
  );
  return false;
}

/** A word as a POSIX shell would need it: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `a`, `a and b`, `a, b and c`. */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
