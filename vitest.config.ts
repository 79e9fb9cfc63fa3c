import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // dist/ (what users run) and the console's bundle, built from the sources under test.
    globalSetup: ['test/package/build-dist.ts', 'test/helpers/build-web.ts'],
  },
});
