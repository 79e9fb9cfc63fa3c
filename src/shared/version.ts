/**
 * This package's version and where the package lives. The root is found by walking up from this
 * module to the package.json named claude-duo, so the same code works from the TypeScript sources
 * of a clone, from its compiled dist/, and from a global npm install.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'claude-duo';

function findPackage(): { root: string; version: string } {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    let pkg: { name?: unknown; version?: unknown } | undefined;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (pkg?.name === PACKAGE_NAME && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    if (dirname(dir) === dir)
      throw new Error(`Cannot find the ${PACKAGE_NAME} package.json above ${start}; reinstall claude-duo.`);
  }
}

const found = findPackage();

/** The installed package's folder (holds package.json, dist/ and, in a clone, src/). */
export const PACKAGE_ROOT: string = found.root;
export const VERSION: string = found.version;
