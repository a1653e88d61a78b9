/** Issue 6 acceptance in Debian Chromium against the web host (the journey itself is in e2e/journey.ts). */
import { test } from '@playwright/test';
import { startWebApp, type WebApp } from './app';
import { journey } from './journey';

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
});
test.afterAll(async () => {
  await app.stop();
});

test('import, embed, train five classifiers, compare, try images, map', async ({ page }) => {
  test.setTimeout(12 * 60_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(app.url);
  await journey(page, { cliJson: (...args) => app.cliJson(...args), prefix: 'journey' });
});
