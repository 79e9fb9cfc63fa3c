/**
 * What a `duo` process gives the command it runs, and how it ends: shared by the main entry and
 * the hooks' own entry (hooks/entry.ts). Imports nothing, so neither entry pays for it.
 */
import type { CliContext } from './command.ts';

/** The command's context: this process's environment, folder and standard streams. */
export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: process.stdout.isTTY === true && process.stdin.isTTY === true,
  };
}

/**
 * Exits with the command's code once stdout and stderr are flushed (a hook's stderr is its
 * message): idle keep-alive sockets must not hold the process open. `undefined` is a long-running
 * command (broker, partner, tail) that exits on its own. A command that throws exits 1.
 */
export function exitWhenDone(done: Promise<number | undefined>): void {
  done.then(
    (code) => {
      if (code !== undefined) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
    },
    async (error: unknown) => {
      const { describeError } = await import('../shared/errors.ts');
      process.stderr.write(`duo: ${describeError(error)}\n`);
      process.exit(1);
    },
  );
}
