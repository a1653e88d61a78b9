/**
 * The exported web demo in Chromium: `dinolab export-model --web DIR` on a tiny database (Shapes-10,
 * raw pixels, a linear probe), DIR served by a plain static file server with every other request
 * blocked (offline, no CDN); an image at the set's size dropped on the page gets the same top-1 class as
 * `dinolab try` on that file.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { tinyBackbone } from '../src/core/backbones/tiny-models';
import { fixtures, fullShot, shot, startWebApp, type WebApp } from './app';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-e2e-export-'));
const webDir = path.join(dir, 'demo');
let app: WebApp;
let runId = 0;
/** The two demos: raw pixels, and a (tiny) ONNX backbone with the in-graph preprocessing before it. */
const demos: Record<string, { dir: string; expected: string }> = {};
const image = path.join(fixtures, 'images', 'img01_32x32_RGB.png');
let server: http.Server;
let base = '';

const TYPES: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };

test.beforeAll(async () => {
  app = await startWebApp();
  const cliJson = app.cliJson;
  const { datasetId } = cliJson<{ datasetId: number }>('import', 'sample', 'shapes10', '--train', '100', '--test', '30');
  const { setId } = cliJson<{ setId: number }>('embed', '--dataset', String(datasetId), '--backbone', 'raw-pixels', '--ep', 'cpu');
  runId = cliJson<{ runId: number }>('train', '--set', String(setId), '--model', 'logreg').runId;
  const top1 = (set: number, run: number): string =>
    cliJson<{ predictions: { runId: number; top: { class: string }[] }[] }[]>('try', '--set', String(set), image)[0]!.predictions.find((p) => p.runId === run)!.top[0]!.class;
  const exported = cliJson<{ web: { index: string; files: string[] }; input: { name: string } }>('export-model', '--run', String(runId), '--web', webDir);
  expect(exported.input.name).toBe('image');
  expect(fs.existsSync(path.join(webDir, 'index.html'))).toBe(true);
  demos['raw-pixels'] = { dir: webDir, expected: top1(setId, runId) };
  // An ONNX backbone: the exported graph is uint8 image -> Pillow-bicubic resize and normalisation -> conv net -> head.
  const model = path.join(dir, 'tiny.onnx');
  fs.writeFileSync(model, tinyBackbone({ dim: 16, seed: 2 }));
  const bb = cliJson<{ id: number }>('backbones', 'add', model, '--name', 'tiny');
  const tinySet = cliJson<{ setId: number }>('embed', '--dataset', String(datasetId), '--backbone', String(bb.id), '--ep', 'cpu', '--preset', 'dinov2-eval').setId;
  const tinyRun = cliJson<{ runId: number }>('train', '--set', String(tinySet), '--model', 'logreg').runId;
  const tinyDir = path.join(dir, 'demo-tiny');
  cliJson('export-model', '--run', String(tinyRun), '--web', tinyDir);
  demos['tiny ONNX backbone'] = { dir: tinyDir, expected: top1(tinySet, tinyRun) };
  // The pages open on the newest set: the button test works on its run.
  runId = tinyRun;
  server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await app?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const name of ['raw-pixels', 'tiny ONNX backbone']) {
test(`the exported web demo (${name}) classifies a dropped image offline with the same top-1 as dinolab try`, async ({ page }) => {
  const demo = demos[name]!;
  const sub = path.basename(demo.dir);
  test.setTimeout(120_000);
  const outside: string[] = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base)) return route.continue();
    outside.push(u);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${base}/${sub}/index.html`);
  await expect(page.locator('#status')).toHaveAttribute('data-ready', /wasm|webgpu/, { timeout: 60_000 });
  const b64 = fs.readFileSync(image).toString('base64');
  const dt = await page.evaluateHandle(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const t = new DataTransfer();
      t.items.add(new File([bytes], name, { type: 'image/png' }));
      return t;
    },
    { b64, name: path.basename(image) },
  );
  const zone = page.locator('#drop');
  await zone.dispatchEvent('dragover', { dataTransfer: dt });
  await zone.dispatchEvent('drop', { dataTransfer: dt });
  const result = page.locator('li.result[data-top1]');
  await expect(result).toHaveCount(1, { timeout: 60_000 });
  await expect(result).toHaveAttribute('data-top1', demo.expected);
  await expect(result.locator('.row')).toHaveCount(3);
  await shot(page, `export-demo-${sub}-1440x900`);
  await page.setViewportSize({ width: 900, height: 700 });
  await shot(page, `export-demo-${sub}-900x700`);
  expect(outside).toEqual([]);
  expect(errors).toEqual([]);
});
}

test('"Export model" on a finished run, on Train and on Compare, writes the model and says where', async ({ page }) => {
  test.setTimeout(90_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Train', exact: true }).click();
  const row = page.locator(`[data-testid="run"][data-id="${runId}"]`);
  await expect(row).toBeVisible();
  await row.getByTestId('export-model').click();
  const done = row.getByTestId('export-model-done');
  await expect(done).toContainText('Saved');
  const file = (await done.getAttribute('title'))!;
  expect(file).toBe(path.join(app.dir, 'exports', `run-${runId}.onnx`));
  expect(fs.statSync(file).size).toBeGreaterThan(1000);
  await fullShot(page, 'export-model-train-1440x900');
  await page.setViewportSize({ width: 900, height: 700 });
  await fullShot(page, 'export-model-train-900x700');
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByRole('link', { name: 'Compare', exact: true }).click();
  const crow = page.locator(`[data-testid="compare-row"][data-id="${runId}"]`);
  await crow.getByTestId('export-model').click();
  await expect(crow.getByTestId('export-model-done')).toContainText('Saved');
  await fullShot(page, 'export-model-compare-1440x900');
});
