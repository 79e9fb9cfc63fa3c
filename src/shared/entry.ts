/**
 * How to run this package's `duo` command line. An installed package (and a clone after its
 * build) runs the compiled JavaScript in dist/; the TypeScript sources run only in development
 * and tests, through the tsx loader, which is a development dependency and never shipped.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from './version.ts';

/** The compiled `duo` entry: what `duo install` registers with Claude Code as its MCP server. */
export const COMPILED_ENTRY = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
/**
 * The hooks' own compiled entry (see src/cli/hooks/entry.ts): what `duo install` registers for
 * the hooks, with the arguments of `duo hook <event>`.
 */
export const COMPILED_HOOKS = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'hook.cjs');

/** True when this code runs from the TypeScript sources rather than from dist/. */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Node arguments that run this same `duo` (compiled, or the sources when that is what runs now)
 * followed by `args`: for child processes such as the demo's partners or a broker started on
 * demand.
 */
export function duoArgs(...args: string[]): string[] {
  if (!FROM_SOURCES) return [COMPILED_ENTRY, ...args];
  // Named by path: the child may run in a folder where `--import tsx` would not resolve.
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return ['--import', loader, join(PACKAGE_ROOT, 'src', 'cli', 'main.ts'), ...args];
}
