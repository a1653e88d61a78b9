/**
 * The shell journey in the desktop app. Runs only where Electron's binary is installed; on machines
 * without it, it is reported as skipped with the reason (e2e/electron-gate.ts) and the web host covers the UI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, expect, test } from '@playwright/test';
import { fullShot, root } from './app';
import { electronSkipReason } from './electron-gate';

test.skip(electronSkipReason !== null, electronSkipReason ?? '');

test('the desktop window shows the engine facts and runs and cancels a self-test job', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-electron-'));
  const app = await electron.launch({ args: [root, '--db', path.join(dir, 'lab.db')], env: { ...process.env, DINOLAB_DATA_DIR: dir } });
  try {
    const page = await app.firstWindow();
    await expect(page.getByTestId('status-eps')).toContainText('cpu');
    await expect(page.getByTestId('status-host')).toContainText('Electron');
    // No Node in the renderer: only the contract bridge is exposed.
    expect(await page.evaluate('typeof require')).toBe('undefined');
    expect(await page.evaluate('typeof process')).toBe('undefined');
    expect(await page.evaluate('Object.keys(window.lab).sort().join(",")')).toBe('invoke,subscribe');
    await page.getByTestId('jobs-toggle').click();
    await page.getByTestId('start-selftest').click();
    const job = page.getByTestId('job').first();
    await expect(job).toHaveAttribute('data-status', 'running');
    await fullShot(page, 'electron-shell');
    await job.getByTestId('job-cancel').click();
    await expect(job).toHaveAttribute('data-status', 'cancelled');
  } finally {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
