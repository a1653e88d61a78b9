import { defineConfig } from 'vitest/config';

// The fault suite (issue 7): kills, hostile input, fuzzing. Run by `npm run test:faults`.
export default defineConfig({
  test: {
    include: ['tests/faults/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
