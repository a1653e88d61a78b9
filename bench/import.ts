import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../src/core/db/database';
import { importDataset } from '../src/core/datasets/import';
import { generateCifar10Archive } from '../src/core/datasets/testing/cifar-archive';

interface Measure {
  pageSize: number;
  seconds: number;
  imagesPerSec: number;
  dbMB: number;
  phases: Record<string, number>;
  /** Peak RSS of the bench process so far (cumulative: the second row includes the first). */
  peakRssMB: number;
}

async function measure(archive: string, dir: string, pageSize: number | null): Promise<Measure> {
  const file = path.join(dir, `bench-${pageSize ?? 'default'}.db`);
  if (pageSize) {
    // page_size only takes effect on a new file, before WAL is switched on.
    const pre = new Database(file);
    pre.pragma(`page_size = ${pageSize}`);
    pre.exec('VACUUM');
    pre.close();
  }
  const db = openDatabase(file);
  const before = fs.statSync(file).size;
  const phases: Record<string, number> = {};
  let last = performance.now();
  let phase = '';
  const t0 = performance.now();
  const r = await importDataset(db, { type: 'cifar', path: archive }, {
    onProgress: (p) => {
      if (p.phase !== phase) {
        const now = performance.now();
        if (phase) phases[phase] = (phases[phase] ?? 0) + (now - last) / 1000;
        phase = p.phase;
        last = now;
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (phase) phases[phase] = (phases[phase] ?? 0) + (performance.now() - last) / 1000;
  const ps = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const wal = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
  const dbMB = (fs.statSync(file).size + wal - before) / 1e6;
  const n = r.counts.train + r.counts.test;
  return { pageSize: ps, seconds, imagesPerSec: n / seconds, dbMB, phases, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/** Imports a generated full-size CIFAR-10 python archive (60,000 images) and reports images/s and database growth. */
export async function run(): Promise<{ rows: Record<string, string | number>[]; json: unknown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-import-'));
  try {
    const g = generateCifar10Archive(10_000, 7, 1);
    const archive = path.join(dir, 'cifar-10-python.tar.gz');
    fs.writeFileSync(archive, g.archive);
    const results: Measure[] = [];
    for (const ps of [null, 16384]) results.push(await measure(archive, dir, ps));
    const rows = results.map((m) => ({
      case: `CIFAR-10 python tar.gz, 60,000 images, page_size ${m.pageSize}`,
      'images/s': Math.round(m.imagesPerSec),
      seconds: Number(m.seconds.toFixed(2)),
      'db growth MB': Number(m.dbMB.toFixed(1)),
      phases: Object.entries(m.phases).map(([k, v]) => `${k} ${v.toFixed(2)}s`).join(', '),
      threads: '1 (the import runs on one thread)',
      backend: 'JS gunzip/tar/pickle reader + better-sqlite3',
      peak_rss_mb: m.peakRssMB,
    }));
    return { rows, json: { archiveBytes: g.archive.length, synthetic: 'a generated CIFAR-10 python archive (seeded pixels), full size', results } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
