/**
 * SQLite insert rate of 60,000 float32 vectors of 384 dims (CIFAR-10 through ViT-S/14), one BLOB per
 * row, at several transaction sizes, in a fresh WAL database — the storage path of an embedding job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { f32ToBlob, openDatabase } from '../src/core/db/database';
import type { BenchResult } from './run';

export async function run(): Promise<BenchResult> {
  const N = Number(process.env.BENCH_N ?? 60_000);
  const D = 384;
  const rows: BenchResult['rows'] = [];
  const vec = new Float32Array(D);
  for (let i = 0; i < D; i++) vec[i] = Math.sin(i);
  for (const txSize of [1, 100, 1000, 10_000]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-'));
    const db = openDatabase(path.join(dir, 'b.db'));
    db.prepare(`INSERT INTO datasets (name, kind, classes, created_at) VALUES ('b', 'sample', '[]', '')`).run();
    db.prepare(`INSERT INTO backbones (name, kind, dim, created_at) VALUES ('b', 'raw-pixels', ${D}, '')`).run();
    db.prepare(`INSERT INTO embedding_sets (dataset_id, backbone_id, preset, dim, status, created_at) VALUES (1, 1, 'x', ${D}, 'running', '')`).run();
    const insS = db.prepare(`INSERT INTO samples (dataset_id, idx, split, label, source, width, height) VALUES (1, ?, 'train', 0, '', 32, 32)`);
    db.transaction(() => {
      for (let i = 0; i < N; i++) insS.run(i);
    })();
    const ins = db.prepare(`INSERT INTO embeddings (set_id, sample_id, vector) VALUES (1, ?, ?)`);
    // Row-per-transaction is slow: measure it on a slice and extrapolate the rate.
    const n = txSize === 1 ? Math.min(N, 2000) : N;
    const t0 = performance.now();
    for (let start = 0; start < n; start += txSize) {
      db.transaction(() => {
        for (let i = start; i < Math.min(n, start + txSize); i++) {
          vec[0] = i;
          ins.run(i + 1, f32ToBlob(vec));
        }
      })();
    }
    const sec = (performance.now() - t0) / 1000;
    db.close();
    const size = fs.statSync(path.join(dir, 'b.db')).size + (fs.existsSync(path.join(dir, 'b.db-wal')) ? fs.statSync(path.join(dir, 'b.db-wal')).size : 0);
    rows.push({
      transaction_rows: txSize,
      vectors: n,
      seconds: Number(sec.toFixed(3)),
      rows_per_sec: Math.round(n / sec),
      db_mb: Number((size / 2 ** 20).toFixed(1)),
      threads: '1 (better-sqlite3 writes on the calling thread)',
      backend: 'better-sqlite3, WAL, one BLOB per row',
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows, json: { dim: D, n: N, synthetic: 'synthetic vectors (sin values), not embeddings', rows } };
}
