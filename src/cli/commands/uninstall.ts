/**
 * `duo uninstall`: undoes `duo install` in one scope. It removes duo's hooks from the Claude Code
 * settings file (after a backup; other hooks and settings stay as they are), then removes the
 * duo MCP server entry with `claude mcp remove`, printed first and run only after a yes (or
 * --yes). Secrets, the broker and its database are left alone. Running it again changes nothing.
 */
import { parse, UsageError, type Command } from '../command.ts';
import { readJsonObject, removeHooks, settingsPath, writeJsonWithBackup, type Scope } from '../claude-code.ts';
import { findDuoServers } from '../claude-mcp.ts';
import { cliSetup } from '../identity.ts';
import { offerClaudeCommand } from './install.ts';

export const command: Command = {
  name: 'uninstall',
  summary: 'Remove the partner and its hooks from Claude Code',
  help: `Usage: duo uninstall [--scope user|project] [--yes]

Removes what duo install added to Claude Code, in one scope:
  1. duo's hooks, from ~/.claude/settings.json (user scope) or <project>/.claude/settings.json
     (project scope); the old file is kept as settings.json.bak-<time>, other hooks and settings
     are left alone.
  2. the MCP server "duo":
       claude mcp remove duo -s <scope>
     (printed, then run after you confirm, or at once with --yes).
Your secrets, the broker and its database stay (duo broker stop stops a running broker).

  --scope user|project  user: the user-wide setup (default); project: this folder's
  --yes                 Run "claude mcp remove" without asking`,
  async run(args, ctx) {
    const { values } = parse(args, { scope: { type: 'string' }, yes: { type: 'boolean', short: 'y' } }, false);
    const scope = (values.scope ?? 'user') as Scope;
    if (scope !== 'user' && scope !== 'project') throw new UsageError('--scope is "user" or "project".');
    const { config } = cliSetup(ctx);
    let failed = false;

    // 1. The hooks.
    const file = settingsPath(scope, ctx.env, config.projectDir);
    const { settings, removed } = removeHooks(readJsonObject(file));
    if (removed.length === 0) {
      ctx.out(`✓ No duo hooks in ${file}.\n`);
    } else {
      const backup = writeJsonWithBackup(file, settings);
      ctx.out(
        `✓ Removed the duo ${removed.join(', ')} hook${removed.length === 1 ? '' : 's'} from ${file}${backup ? ` (previous file kept as ${backup})` : ''}.\n`,
      );
    }

    // 2. The MCP server entries of that scope (a project's may be in .mcp.json or local to you).
    const all = findDuoServers(ctx.env, config.projectDir);
    const mine = all.filter((entry) => (scope === 'user' ? entry.scope === 'user' : entry.scope !== 'user'));
    if (mine.length === 0) ctx.out(`✓ No duo MCP server in ${scope} scope.\n`);
    for (const entry of mine) {
      const removed = await offerClaudeCommand(ctx, {
        args: ['mcp', 'remove', entry.name, '-s', entry.scope],
        cwd: config.projectDir,
        yes: values.yes,
        heading: `Remove the partner from Claude Code (${entry.where})`,
        notOnPath: 'where Claude Code is installed',
        done: `Removed the ${entry.name} MCP server`,
        rerun: 'duo uninstall --yes',
      });
      if (!removed) failed = true;
    }
    const other: Scope = scope === 'user' ? 'project' : 'user';
    const otherFile = settingsPath(other, ctx.env, config.projectDir);
    let hooksElsewhere = false;
    try {
      hooksElsewhere = removeHooks(readJsonObject(otherFile)).removed.length > 0;
    } catch {
      // A damaged file there is not this command's business.
    }
    if (hooksElsewhere || all.some((entry) => !mine.includes(entry)))
      ctx.out(`  duo is also set up in ${other} scope: duo uninstall --scope ${other} removes it there.\n`);
    return failed ? 1 : 0;
  },
};
