#!/usr/bin/env node
// Claude Code entries written by older `duo install` runs point at this file; it runs the
// compiled command line. The package's own `duo` bin is dist/src/cli/main.js.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('duo: dist/ is missing; run `npm run build` (or `npm ci`) in this checkout first.');
  process.exit(1);
}
await import(entry.href);
