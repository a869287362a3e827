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
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
