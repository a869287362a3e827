import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'sim/**/*.test.ts',
      'protocol/**/*.test.ts',
      'client/**/*.test.ts',
      'relay/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Two test files at once, also on a 2-core machine (vitest's default there is one): most of
    // the suite's time is real time spent waiting (matches at their tick rate, impaired links,
    // pages in Chromium), not CPU, so two files at once roughly halve `npm test`.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
