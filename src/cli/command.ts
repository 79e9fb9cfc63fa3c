/**
 * What every `duo` subcommand is: a name, a one-line summary for `duo --help`, its own help
 * text, and a `run` that gets the arguments after the command name and the process context.
 * Commands write through the context, never to process.stdout directly, and return an exit code.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Env = Record<string, string | undefined>;

export interface CliContext {
  env: Env;
  cwd: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (interactive prompts, live output). */
  interactive: boolean;
  /** Set for commands that need a broker: starts one at a loopback URL when none answers. */
  ensureBroker?: (brokerUrl: string) => Promise<unknown>;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  /** Resolves to the exit code; `undefined` for a long-running command that exits by itself. */
  run(args: string[], ctx: CliContext): Promise<number | undefined>;
}

/** A mistake in how the command was called: the message, then the command's usage. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with `--help` built in and its errors turned into UsageError, so every
 * command reports a mistyped flag the same way.
 */
export function parse<O extends Options>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A whole number flag, or UsageError naming the flag. */
export function intFlag(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min)
    throw new UsageError(`--${flag} must be a whole number of at least ${min}.`);
  return Number(value);
}
