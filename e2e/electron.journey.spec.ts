/**
 * Issue 6's journey in the desktop app (runs only where Electron's binary is installed; elsewhere it is
 * reported as skipped with the reason, see e2e/electron-gate.ts). Same steps and checks as the web host's, from e2e/journey.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, test } from '@playwright/test';
import { cliJsonFor, root } from './app';
import { journey } from './journey';
import { electronSkipReason } from './electron-gate';

test.skip(electronSkipReason !== null, electronSkipReason ?? '');

test('desktop: import, embed, train five classifiers, compare, try images, map', async () => {
  test.setTimeout(12 * 60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-electron-'));
  const dbPath = path.join(dir, 'lab.db');
  const app = await electron.launch({ args: [root, '--db', dbPath], env: { ...process.env, DINOLAB_DATA_DIR: dir } });
  try {
    const page = await app.firstWindow();
    await journey(page, { cliJson: cliJsonFor(dbPath, dir), prefix: 'electron-journey' });
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
