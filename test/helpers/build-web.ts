/**
 * Vitest global setup: builds the web console into dist/web/ once before any test runs, so a
 * clean clone's `npm test` serves the real console.
 */
import { execFileSync } from 'node:child_process';

export default function buildWebConsole(): void {
  const script = new URL('../../scripts/build-web.mjs', import.meta.url).pathname;
  execFileSync(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
}
