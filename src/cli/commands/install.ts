/**
 * `duo install`: adds the duo partner to Claude Code (`claude mcp add`) and the SessionStart /
 * SessionEnd hooks to its settings, in user or project scope. It prints every command before
 * running it, runs `claude` only after a yes (or --yes), merges settings without touching what is
 * already there (after a backup), and is idempotent: a second run changes nothing.
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { COMPILED_ENTRY } from '../../shared/entry.ts';
import { DisplayName } from '../../shared/protocol.ts';
import { parse, UsageError, type CliContext, type Command } from '../command.ts';
import {
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
export const CHANNELS_LAUNCH = 'claude --dangerously-load-development-channels server:duo';

export const command: Command = {
  name: 'install',
  summary: 'Add the partner and the session hooks to Claude Code',
  help: `Usage: duo install [--scope user|project] [--yes] [--broker URL] [--name NAME] [--no-hooks]

Adds Claude Duo to Claude Code:
  1. the partner as the MCP server "duo":
       claude mcp add duo -s <scope> -e BROKER_URL=<url> [-e PARTNER_NAME=<name>] -- node <package>/dist/src/cli/main.js partner
     (printed, then run after you confirm, or at once with --yes; skipped when duo is already there)
  2. the hooks "duo hook session-start" and "duo hook session-end", merged into
     ~/.claude/settings.json (user scope) or <project>/.claude/settings.json (project scope);
     the old file is kept as settings.json.bak-<time>, other settings and hooks are left alone.
Running it again adds nothing.

  --scope user|project  user: every project (default); project: this folder only (.mcp.json)
  --yes                 Run "claude mcp add" without asking
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
      const mcpArgs = ['mcp', 'add', 'duo', '-s', scope, '-e', `BROKER_URL=${brokerUrl}`];
      if (values.name !== undefined) mcpArgs.push('-e', `PARTNER_NAME=${values.name}`);
      mcpArgs.push('--', 'node', BIN_PATH, 'partner');
      const shown = ['claude', ...mcpArgs].map(shellQuote).join(' ');
      const claude = findClaude(ctx.env);
      ctx.out(`Add the partner to Claude Code:\n  ${shown}\n`);
      if (!claude) {
        ctx.out('  The claude command is not on PATH: run the line above once Claude Code is installed.\n');
      } else if (values.yes || (ctx.interactive && (await confirm(ctx, 'Run it now? [y/N] ')))) {
        const result = spawnSync(claude, mcpArgs, {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: ctx.env as NodeJS.ProcessEnv,
          cwd: config.projectDir,
          timeout: 60_000,
        });
        if (result.status === 0) ctx.out('✓ Added the duo MCP server.\n');
        else {
          failed = true;
          ctx.err(
            `✗ "claude mcp add" failed (${result.error?.message ?? `exit ${result.status}`}); run the line above yourself.\n`,
          );
        }
      } else {
        ctx.out('  Not run: run it yourself, or run duo install --yes.\n');
      }
      if (config.token)
        ctx.out(
          '  DUO_TOKEN is set: the partner needs it too; add -e DUO_TOKEN=… in user scope (never in a committed .mcp.json).\n',
        );
    }

    // 2. The hooks.
    if (!values['no-hooks']) {
      const file = settingsPath(scope, ctx.env, config.projectDir);
      const broker = `--broker ${shellQuote(brokerUrl)}`;
      const run = `node ${shellQuote(BIN_PATH)} hook`;
      const specs: HookSpec[] = [
        {
          event: 'SessionStart',
          matcher: 'startup|resume|clear|compact',
          command: `${run} session-start ${broker}`,
          timeout: 10,
        },
        { event: 'SessionEnd', command: `${run} session-end ${broker}`, timeout: 5 },
      ];
      const { settings, changes } = mergeHooks(readJsonObject(file), specs, file);
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
    ctx.out(`
Next:
${approve}  1. Start Claude Code with channels, so messages reach the model as they arrive:
       ${CHANNELS_LAUNCH}
     (without the flag, messages arrive when the agent calls listen). The partner starts a broker
     by itself when none runs at ${brokerUrl}; \`duo broker status\` shows it, \`duo broker stop\` stops it.
  2. Check everything:  duo doctor
`);
    return failed ? 1 : 0;
  },
};

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  const rl = createInterface({ input: ctx.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** A word as a POSIX shell would need it: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
