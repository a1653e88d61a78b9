/** Starts a real web host (the built CLI's `serve`) on a temporary database for one test. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';

export const root = path.resolve(import.meta.dirname, '..');
export const fixtures = path.resolve(root, '../shared/fixtures');
export const artifacts = path.join(root, 'e2e', 'artifacts');
/**
 * Where the documentation screenshots go: docs/ (committed) with DINOLAB_DOCS_SHOTS=1, else e2e/artifacts/docs,
 * so that an ordinary test run never rewrites tracked files. `sub` is '' for docs/ itself, 'screenshots' below it.
 */
export function docsShots(sub: '' | 'screenshots' = 'screenshots'): string {
  const dir = process.env.DINOLAB_DOCS_SHOTS ? path.join(root, 'docs', sub) : path.join(artifacts, 'docs', sub);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
const cli = path.join(root, 'out', 'main', 'cli.js');

export interface WebApp {
  url: string;
  dir: string;
  dbPath: string;
  /** Runs `dinolab --db <same db> ...args --json` and parses its output. */
  cliJson<T = unknown>(...args: string[]): T;
  stop(): Promise<void>;
}

export async function startWebApp(): Promise<WebApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-e2e-'));
  const dbPath = path.join(dir, 'lab.db');
  const child: ChildProcess = spawn(process.execPath, [cli, '--db', dbPath, 'serve', '--port', '0', '--json'], {
    env: { ...process.env, DINOLAB_DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => reject(new Error(`web host exited with ${code}`)));
    setTimeout(() => reject(new Error('web host did not start in 30 s')), 30_000);
  });
  return {
    url,
    dir,
    dbPath,
    cliJson: cliJsonFor(dbPath, dir),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `dinolab --db dbPath ...args --json`, parsed: the CLI on the database an app under test uses. */
export function cliJsonFor(dbPath: string, dataDir: string): <T = unknown>(...args: string[]) => T {
  return <T,>(...args: string[]): T => {
    const out = execFileSync(process.execPath, [cli, '--db', dbPath, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, DINOLAB_DATA_DIR: dataDir } });
    return JSON.parse(out) as T;
  };
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/**
 * shot() for the app's layout, whose navigation and status bar stick to the window: the window is made as
 * tall as the page first, so the full-page image shows them where a person sees them.
 */
export async function fullShot(page: Page, name: string): Promise<void> {
  const vp = page.viewportSize() ?? { width: 1280, height: 800 };
  const height = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
  try {
    await page.setViewportSize({ width: vp.width, height: Math.max(vp.height, Math.min(height, 6000)) });
  } catch {
    // An Electron window cannot always be resized from here: take the page as it is.
  }
  await shot(page, name);
  await page.setViewportSize(vp).catch(() => undefined);
}
