/**
 * Builds dist/ once before the tests. Most tests run the TypeScript sources; the few that run
 * what users run (the entry `duo install` registers, the packed package) get a build of the
 * sources under test, never a stale one. The build is incremental: seconds when nothing changed.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
