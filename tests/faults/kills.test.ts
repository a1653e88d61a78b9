/**
 * Kills with real processes (issue 7): SIGKILL of the job process during an import, a download, an
 * embedding job and a training run, and SIGKILL of a `dinolab serve` host during an embedding job; then
 * a restart on the same file and the checks that nothing was lost or half-written.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { tinyBackbone } from '../../src/core/backbones/tiny-models';
import { generateCifar10Archive } from '../../src/core/datasets/testing/cifar-archive';
import { downloadFile } from '../../src/core/net/download';
import { openDatabase } from '../../src/core/db/database';
import type { LabError } from '../../src/core/errors';
import { addBackboneFile } from '../../src/core/backbones/registry';
import { createEmbeddingSet, runEmbeddingSet } from '../../src/core/embeddings/pipeline';
import { insertPixelDataset, pixelLoader } from '../../src/core/embeddings/testing/fixture-db';
import { projectRoot, tempDir } from '../helpers';
import { record } from './record';
import { alive, counts, integrity, nextEvent, startServe, waitFor } from './util';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(): { dir: string; dbPath: string; lab: Lab } {
  const t = tempDir('dinolab-kill-');
  const dbPath = path.join(t.dir, 'lab.db');
  const lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
  cleanups.push(t.cleanup, () => lab.close());
  return { dir: t.dir, dbPath, lab };
}

/** Vectors of a set keyed by sample id, read through a fresh connection. */
function setVectors(dbPath: string, setId: number): Map<number, Buffer> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT sample_id, vector FROM embeddings WHERE set_id = ?').all(setId) as { sample_id: number; vector: Buffer }[];
    return new Map(rows.map((r) => [r.sample_id, r.vector]));
  } finally {
    db.close();
  }
}

function setCounts(dbPath: string, setId: number): { n: number; distinct: number } {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT sample_id) AS "distinct" FROM embeddings WHERE set_id = ?').get(setId) as { n: number; distinct: number };
  } finally {
    db.close();
  }
}

async function importShapes(lab: Lab, train: number, test: number): Promise<number> {
  const job = await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train, test } });
  const end = await lab.jobs.wait(job.id);
  expect(end.error).toBeNull();
  return (end.result as { datasetId: number }).datasetId;
}

describe('SIGKILL of the job process', () => {
  it('during a CIFAR import (reading phase): no partial dataset, a rerun imports everything', async () => {
    const { dir, dbPath, lab } = setup();
    const archive = path.join(dir, 'cifar-10-python.tar.gz');
    fs.writeFileSync(archive, generateCifar10Archive(3000).archive); // 18,000 images, ~50 MB
    const before = counts(dbPath, ['datasets', 'samples']);
    const job = await lab.call('datasets.import', { source: { type: 'cifar', path: archive } });
    const ev = await nextEvent(lab, (e) => e.name === 'job.progress' && e.payload.jobId === job.id && e.payload.done > 0);
    process.kill(lab.jobs.pidOf(job.id)!, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('interrupted');
    expect(end.error).toMatch(/ended unexpectedly \(signal SIGKILL\); start it again to resume/);
    expect(counts(dbPath, ['datasets', 'samples'])).toEqual(before);
    expect(integrity(dbPath)).toBe('ok');
    const again = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'cifar', path: archive } })).id);
    expect(again.status).toBe('done');
    expect(counts(dbPath, ['datasets', 'samples'])).toEqual({ datasets: before.datasets + 1, samples: before.samples + 18_000 });
    const p = ev.name === 'job.progress' ? ev.payload : null;
    record({
      fault: `SIGKILL of the import job process at ${p?.phase} ${p?.done}/${p?.total} (generated 18,000-image CIFAR-10 archive)`,
      outcome: `job interrupted: "${end.error}"`,
      checked: 'datasets/samples row counts unchanged; integrity_check ok; rerun imports 18,000 samples',
    });
  });

  it('during a CIFAR import (later: parsing or writing phase): all or nothing', async () => {
    const { dir, dbPath, lab } = setup();
    const archive = path.join(dir, 'cifar-10-python.tar.gz');
    fs.writeFileSync(archive, generateCifar10Archive(3000, 2).archive);
    const before = counts(dbPath, ['datasets', 'samples']);
    const job = await lab.call('datasets.import', { source: { type: 'cifar', path: archive } });
    const ev = await nextEvent(lab, (e) => e.name === 'job.progress' && e.payload.jobId === job.id && (e.payload.phase === 'writing' || e.payload.phase === 'parsing'));
    const pid = lab.jobs.pidOf(job.id);
    if (pid) process.kill(pid, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    const after = counts(dbPath, ['datasets', 'samples']);
    // Either the kill landed before the commit (nothing) or after it (everything): never a part.
    if (end.status === 'interrupted') expect(after).toEqual(before);
    else expect(after).toEqual({ datasets: before.datasets + 1, samples: before.samples + 18_000 });
    expect(integrity(dbPath)).toBe('ok');
    const p = ev.name === 'job.progress' ? ev.payload : null;
    record({
      fault: `SIGKILL of the import job process at ${p?.phase} ${p?.done}/${p?.total}`,
      outcome: `job ${end.status}${end.error ? `: "${end.error}"` : ''}`,
      checked: `samples ${after.samples - before.samples} of 18,000 (all or nothing); integrity_check ok`,
    });
  });

  it('during a download (trickling 127.0.0.1 server): the rerun resumes from the .part and verifies sha256', async () => {
    const t = tempDir('dinolab-kill-dl-');
    cleanups.push(t.cleanup);
    const body = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 12)) & 255;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const ranges: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      if (m) res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      else res.writeHead(200, { 'content-length': body.length });
      // Trickle: 64 KiB every 20 ms (about 3 MB/s), so a kill lands mid-file.
      let at = start;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        const end = Math.min(body.length, at + 65536);
        res.write(body.subarray(at, end));
        at = end;
        if (at >= body.length) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.onnx`;
    const dest = path.join(t.dir, 'model.onnx');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'tests/faults/download-child.ts'), url, dest, sha256], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killedAt = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = [...buf.matchAll(/progress (\d+)/g)].pop();
        if (m && Number(m[1]) >= 1024 * 1024) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code, sig) => sig !== 'SIGKILL' && reject(new Error(`download child ended early (${code}): ${buf} ${err}`)));
    });
    await new Promise((r) => child.once('close', r));
    const partSize = fs.statSync(`${dest}.part`).size;
    expect(partSize).toBeGreaterThanOrEqual(killedAt);
    expect(partSize).toBeLessThan(body.length);
    expect(fs.existsSync(dest)).toBe(false);
    const r = await downloadFile(url, dest, { sha256 });
    expect(ranges.at(-1)).toBe(`bytes=${partSize}-`);
    expect(r.sha256).toBe(sha256);
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    record({
      fault: `SIGKILL of a process running downloadFile after ${killedAt} of ${body.length} bytes (local trickling server)`,
      outcome: `.part of ${partSize} bytes kept; the rerun sent "Range: ${ranges.at(-1)}" and finished`,
      checked: 'sha256 verified; final file equals the served bytes; .part removed; no final file before the rerun',
    });
  });

  it.each(['graph', 'js'] as const)('during an embedding job (preprocessing in %s): set partial, the rerun stores one vector per sample equal to a clean run', async (preprocessing) => {
    const { dir, dbPath, lab } = setup();
    const datasetId = await importShapes(lab, 500, 100);
    const model = tinyBackbone({ dim: 16, seed: 5 });
    fs.writeFileSync(path.join(dir, 'a.onnx'), model);
    fs.writeFileSync(path.join(dir, 'b.onnx'), model);
    const a = await lab.call('backbones.add', { file: path.join(dir, 'a.onnx') });
    const b = await lab.call('backbones.add', { file: path.join(dir, 'b.onnx') });
    const start = { datasetId, backboneId: a.id, preset: 'resize-224', provider: 'cpu', batchSize: 8, preprocessing } as const;
    const job = await lab.call('embeddings.start', start);
    await nextEvent(lab, (e) => e.name === 'job.progress' && e.payload.jobId === job.id && e.payload.phase === 'embedding' && e.payload.done >= 80);
    process.kill(lab.jobs.pidOf(job.id)!, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('interrupted');
    const setId = (await lab.call('sets.list', {})).find((s) => s.backboneId === a.id)!.id;
    const partial = await lab.call('sets.get', { id: setId });
    expect(partial.status).toBe('partial');
    expect(partial.error).toMatch(/signal SIGKILL/);
    expect(partial.done).toBeGreaterThanOrEqual(80);
    expect(partial.done).toBeLessThan(600);
    expect(integrity(dbPath)).toBe('ok');
    const resumed = await lab.jobs.wait((await lab.call('embeddings.start', start)).id);
    expect(resumed.error).toBeNull();
    expect((resumed.result as { setId: number; computed: number }).setId).toBe(setId);
    expect((resumed.result as { computed: number }).computed).toBe(600 - partial.done);
    expect(setCounts(dbPath, setId)).toEqual({ n: 600, distinct: 600 });
    expect(resumed.result).toMatchObject({ preprocessing });
    const clean = await lab.jobs.wait((await lab.call('embeddings.start', { ...start, backboneId: b.id })).id);
    expect(clean.error).toBeNull();
    const cleanId = (clean.result as { setId: number }).setId;
    const got = setVectors(dbPath, setId);
    const ref = setVectors(dbPath, cleanId);
    expect(got.size).toBe(600);
    let equal = 0;
    for (const [sid, v] of ref) if (got.get(sid)?.equals(v)) equal++;
    expect(equal).toBe(600);
    record({
      fault: `SIGKILL of the embedding job process after ${partial.done} of 600 vectors (Shapes-10, tiny ONNX backbone, batch 8, preprocessing in ${preprocessing})`,
      outcome: `job interrupted; set 'partial' ("${partial.error}"); rerun resumed the same set and computed the ${600 - partial.done} missing vectors`,
      checked: 'COUNT(*) = COUNT(DISTINCT sample_id) = 600; all 600 vectors byte-equal to a clean run; integrity_check ok',
    });
  });

  it('during a training run: run interrupted with a reason, and a new run can be started', async () => {
    const { dbPath, lab } = setup();
    const datasetId = await importShapes(lab, 200, 50);
    const raw = (await lab.call('backbones.list', {})).find((x) => x.name === 'raw-pixels')!;
    const emb = await lab.jobs.wait((await lab.call('embeddings.start', { datasetId, backboneId: raw.id, preset: 'resize-224', provider: 'cpu' })).id);
    const setId = (emb.result as { setId: number }).setId;
    const job = await lab.call('runs.start', { setId, kind: 'mlp', params: { epochs: 5000 }, seed: 1 });
    const ev = await nextEvent(lab, (e) => e.name === 'training.epoch');
    process.kill(lab.jobs.pidOf(job.id)!, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('interrupted');
    const runId = ev.name === 'training.epoch' ? ev.payload.runId : 0;
    const run = await lab.call('runs.get', { id: runId });
    expect(run.status).toBe('interrupted');
    expect(run.error).toMatch(/ended unexpectedly \(signal SIGKILL\)/);
    expect(integrity(dbPath)).toBe('ok');
    const again = await lab.jobs.wait((await lab.call('runs.start', { setId, kind: 'mlp', params: { epochs: 2 }, seed: 1 })).id);
    expect(again.status).toBe('done');
    const runs = await lab.call('runs.list', { setId });
    expect(runs.map((r) => r.status).sort()).toEqual(['done', 'interrupted']);
    record({
      fault: 'SIGKILL of the training job process (mlp, 5,000 epochs) after its first epoch',
      outcome: `run ${runId} 'interrupted': "${run.error}"`,
      checked: 'integrity_check ok; a new mlp run on the same set finishes (runs: done + interrupted)',
    });
  });
});

let orphanLivedMs: number | null = null;

describe('SIGKILL of the host', () => {
  it('web host (`dinolab serve`) killed during an embedding job; a new Lab resumes the set', async () => {
    const t = tempDir('dinolab-kill-host-');
    cleanups.push(t.cleanup);
    const dbPath = path.join(t.dir, 'lab.db');
    const host = await startServe(t.dir, dbPath);
    cleanups.push(() => host.stop());
    const imp = await host.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 600, test: 100 } });
    const impId = (imp.body.result as { id: string }).id;
    await waitFor(async () => ((await host.call('jobs.get', { id: impId })).body.result as { status: string }).status === 'done', 60_000, 'import');
    const datasetId = ((await host.call('datasets.list', {})).body.result as { id: number }[])[0]!.id;
    fs.writeFileSync(path.join(t.dir, 'tiny.onnx'), tinyBackbone({ dim: 16 }));
    const bb = (await host.call('backbones.add', { file: path.join(t.dir, 'tiny.onnx') })).body.result as { id: number };
    const start = { datasetId, backboneId: bb.id, preset: 'dinov2-eval', provider: 'cpu', batchSize: 16 };
    const started = await host.call('embeddings.start', start);
    const jobId = (started.body.result as { id: string }).id;
    const set = await waitFor(async () => {
      const sets = (await host.call('sets.list', {})).body.result as { id: number; done: number }[];
      return sets[0] && sets[0].done >= 100 ? sets[0] : null;
    }, 60_000, 'embedding progress', 50);
    const ro = new Database(dbPath, { readonly: true });
    const pid = (ro.prepare('SELECT pid FROM jobs WHERE id = ?').get(jobId) as { pid: number }).pid;
    ro.close();
    host.proc.kill('SIGKILL');
    await new Promise((r) => host.proc.once('exit', r));
    // The orphaned job process sees its parent gone and exits by itself.
    const killedAt = Date.now();
    await waitFor(() => !alive(pid), 30_000, 'the orphaned job process to exit', 50);
    orphanLivedMs = Date.now() - killedAt;
    const lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    cleanups.push(() => lab.close());
    const job = lab.jobs.get(jobId);
    expect(job.status).toBe('interrupted');
    expect(job.error).toMatch(/DINO Lab stopped while this job ran; start it again to resume/);
    const left = await lab.call('sets.get', { id: set.id });
    // 'partial' is what is left when the orphan notices its parent's death between batches; on a slow
    // machine it may still have finished the set first, which leaves 'done'.
    expect(['partial', 'done']).toContain(left.status);
    expect(left.done).toBeGreaterThanOrEqual(100);
    expect(integrity(dbPath)).toBe('ok');
    const resumed = await lab.jobs.wait((await lab.call('embeddings.start', start as never)).id);
    expect(resumed.error).toBeNull();
    expect((await lab.call('sets.get', { id: set.id })).status).toBe('done');
    expect(setCounts(dbPath, set.id)).toEqual({ n: 700, distinct: 700 });
    record({
      fault: `SIGKILL of the \`dinolab serve\` host with an embedding job at >= ${set.done}/700 vectors`,
      outcome: `orphaned job process exited after ${orphanLivedMs} ms; restart marked the job interrupted ("${job.error}"); set '${left.status}' with ${left.done} vectors`,
      checked: 'integrity_check ok; resumed set done with COUNT(*) = COUNT(DISTINCT sample_id) = 700',
    });
  });
});

// Regression test for a bug this suite found in runEmbeddingSet's batch loop: when preprocessing is slower
// than inference (a fast backbone here; a GPU in real use), the inference worker's reply is always queued
// before the loop awaits it, so Node drains the worker's MessagePort and the job process's event loop
// never reached timers or the IPC channel: 'cancel' and the parent's 'disconnect' went unseen until the
// set was finished. The loop now yields once per batch (setImmediate).
describe('embedding job process keeps its event loop turning', () => {
  it('cancel is seen between batches even when preprocessing outpaces inference', async () => {
    // In-process and deterministic: images take 10 ms of synchronous work to load (as decoding and
    // resizing do), the tiny model answers in a few ms, and a timer set at the first stored batch aborts.
    // In the job process that timer is the IPC 'cancel' message or the parent's 'disconnect'.
    const t = tempDir('dinolab-starve-');
    cleanups.push(t.cleanup);
    const db = openDatabase(path.join(t.dir, 'lab.db'));
    cleanups.push(() => void db.close());
    const datasetId = insertPixelDataset(db, 'pix', 120);
    fs.writeFileSync(path.join(t.dir, 'tiny.onnx'), tinyBackbone({ dim: 8 }));
    const bb = await addBackboneFile(db, path.join(t.dir, 'tiny.onnx'));
    const setId = createEmbeddingSet(db, { datasetId, backboneId: bb.id, preset: 'resize-224' });
    const load = pixelLoader(db);
    const ac = new AbortController();
    let firedAt: number | null = null;
    let armedAt = 0;
    let doneWhenFired = 0;
    let lastDone = 0;
    const outcome = await runEmbeddingSet(db, setId, {
      modelsDir: path.join(t.dir, 'models'),
      provider: 'cpu',
      batchSize: 8,
      signal: ac.signal,
      loadImage: async (id) => {
        const until = performance.now() + 10;
        while (performance.now() < until) {
          /* synchronous work, like decode + resize */
        }
        return load(id);
      },
      onProgress: (p) => {
        lastDone = p.done;
        if (p.phase === 'embedding' && p.done > 0 && !armedAt) {
          armedAt = performance.now();
          setTimeout(() => {
            firedAt = performance.now();
            doneWhenFired = lastDone;
            ac.abort();
          }, 0);
        }
      },
    }).then(
      (s) => `finished: ${s.status}, ${s.done}/${s.total}`,
      (e: unknown) => `${(e as LabError).code}: ${(e as LabError).message}`,
    );
    const delay = firedAt === null ? null : firedAt - armedAt;
    record({
      fault: 'a 0 ms timer (standing in for the IPC cancel / disconnect) armed after the first stored batch of an embedding run whose image loading takes 10 ms of CPU each (120 images, batch 8, tiny ONNX in the worker)',
      outcome: `timer fired after ${delay === null ? 'never' : `${delay.toFixed(0)} ms`} with ${doneWhenFired}/120 stored; run ${outcome}`,
      checked: 'the loop must yield once per batch: timer within 500 ms and the run cancelled (partial). Fix: await setImmediate after each batch in src/core/embeddings/pipeline.ts',
    });
    expect(delay).not.toBeNull();
    expect(delay!).toBeLessThan(500);
    expect(outcome).toMatch(/^cancelled: Cancelled with \d+ of 120 vectors stored/);
  });
});
