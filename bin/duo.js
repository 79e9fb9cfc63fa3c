#!/usr/bin/env node
// Runs the compiled command line from a clone (npm start, npm run demo), and keeps the Claude
// Code entries older `duo install` runs wrote, which point here, working. The package's own
// `duo` bin is dist/src/cli/main.js.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('duo: dist/ is missing; run `npm run build` (or `npm ci`) in this checkout first.');
  process.exit(1);
}
await import(entry.href);
