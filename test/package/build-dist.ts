/**
 * Bundles dist/ once before the tests. Most tests run the TypeScript sources; the few that run
 * what users run (the entry `duo install` registers, the packed package) get a build of the
 * sources under test, never a stale one. esbuild takes a second or two.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
}
