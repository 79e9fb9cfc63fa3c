import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two files at a time: most wait on sockets, child processes and Claude Code rather than on
    // the CPU, and one at a time took 13 minutes on 2 cores (9 with two).
    maxWorkers: 2,
    // dist/ (what users run) and the console's bundle, built from the sources under test.
    globalSetup: ['test/package/build-dist.ts', 'test/helpers/build-web.ts'],
  },
});
