import fs from 'node:fs';
import { defineConfig } from '@playwright/test';

// Debian's Chromium, driven through playwright-core's protocol (no browser download needed).
const chromium = process.env.DINOLAB_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  // Playwright empties its outputDir at start: keep it apart from the other runners' reports.
  outputDir: 'test-results/e2e',
  timeout: 240_000,
  expect: { timeout: 30_000 },
  workers: 1,
  // With CI set (.ci/run exports CI=1) a committed test.only fails the run instead of silently dropping
  // every other test, as vitest does there (allowOnly is off under CI). No retries: a flaky test fails.
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: fs.existsSync(chromium) ? chromium : undefined,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  projects: [
    { name: 'web', testMatch: /web\..*\.spec\.ts/ },
    // The same journey in the desktop app. Always listed: where no Electron binary is installed its specs
    // are reported as skipped with the reason (e2e/electron-gate.ts), so the closing count shows them.
    { name: 'electron', testMatch: /electron\..*\.spec\.ts/ },
  ],
});
