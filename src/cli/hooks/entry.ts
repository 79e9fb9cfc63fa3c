/**
 * The hooks' entry, bundled alone as CommonJS into dist/src/cli/hooks.cjs. `duo install` registers
 * `node …/dist/src/cli/hook.cjs hook <event> --broker URL` (the arguments of `duo hook <event>`),
 * a file of three lines that turns on Node's compile cache and calls `runAsMain`: Claude Code runs a
 * hook at every tool call, and this way it loads neither the command line's dispatch nor any ES
 * module. The main entry's `duo hook` runs the same `command` from the same bundle.
 */
import { command } from '../commands/hook.ts';
import { exitWhenDone, processContext } from '../process-context.ts';

export { command };

/** Runs `hook <event> …` from this process's arguments. */
export function runAsMain(): void {
  const [name, ...args] = process.argv.slice(2);
  const ctx = processContext();
  if (name !== 'hook') {
    ctx.err(`duo: this file runs Claude Code's hooks only: hook <event> (see duo hook --help).\n`);
    // Not 2: to Claude Code a hook's exit 2 means "block" (or, from the Stop hook, "wake up").
    process.exitCode = 1;
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    ctx.out(`${command.help}\n`);
    return;
  }
  exitWhenDone(command.run(args, ctx));
}
