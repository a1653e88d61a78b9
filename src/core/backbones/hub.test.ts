/**
 * Backbone downloads are pinned (issue 12): every downloadable catalogue file names a commit and its
 * sha256; a download whose digest differs is refused and leaves nothing behind; an unpinned file is not
 * downloaded at all. A local HTTP server stands in for the hub (HF_ENDPOINT), through a real Lab and its
 * job process.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import type { LabError } from '../errors';
import { Lab } from '../lab';
import { CATALOG, type CatalogFile } from './catalog';
import { downloadCatalogFile } from './hub';
import { tinyBackbone } from './tiny-models';

const t = tempDir('dinolab-hub-');
const model = Buffer.from(tinyBackbone());
const modelSha = createHash('sha256').update(model).digest('hex');
const requests: string[] = [];
let server: http.Server;
let endpoint: string;
let lab: Lab;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    // Serves the same bytes for every path: the tiny model, which is not any catalogued file.
    res.writeHead(200, { 'content-length': model.length }).end(model);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.HF_ENDPOINT = endpoint; // inherited by the job processes
  lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
});
afterAll(async () => {
  await lab?.close();
  delete process.env.HF_ENDPOINT;
  await new Promise((r) => server.close(r));
  t.cleanup();
});

async function ended(id: string): Promise<{ status: string; error: string | null }> {
  for (let i = 0; i < 600; i++) {
    const j = await lab.call('jobs.get', { id });
    if (!['queued', 'running'].includes(j.status)) return { status: j.status, error: j.error };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not end');
}

const modelsDirFiles = (): string[] => (fs.existsSync(path.join(t.dir, 'models')) ? fs.readdirSync(path.join(t.dir, 'models')).filter((f) => f.startsWith('dinov2')) : []);

describe('pinned backbone downloads', () => {
  it('every file offered for download names a 40-hex commit and a sha256, never main', () => {
    const pinned = CATALOG.flatMap((e) => e.files.filter((f) => f.sha256).map((f) => ({ id: e.id, ...f })));
    expect(pinned.map((f) => `${f.id}/${f.precision}`)).toEqual(['dinov2-small/float32', 'dinov2-small/float16', 'dinov2-base/float32']);
    for (const f of pinned) {
      expect(f.revision, f.id).toMatch(/^[0-9a-f]{40}$/);
      expect(f.sha256, f.id).toMatch(/^[0-9a-f]{64}$/);
      expect(f.url).toBe(`https://huggingface.co/onnx-community/${f.id}/resolve/${f.revision}/${f.file}`);
    }
    for (const f of CATALOG.flatMap((e) => e.files).filter((x) => !x.sha256)) expect(f.revision).toBeNull();
  });

  it('refuses a download whose sha256 differs from the pinned one, leaving no file, no .part and no backbone', async () => {
    requests.length = 0;
    const job = await lab.call('backbones.download', { model: 'dinov2-small', precision: 'float32' });
    const end = await ended(job.id);
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(
      new RegExp(`dinov2-small\\.onnx failed its sha256 check: expected f22797eabf810a75e41de68d378541ebea372122b25c4ce3ef25ff618250c20a, got ${modelSha}\\. The damaged download was removed`),
    );
    expect(requests).toEqual(['/onnx-community/dinov2-small/resolve/8b1f705a3a7f6f062f6bdd21986c1583d3ef105d/onnx/model.onnx']);
    expect(modelsDirFiles()).toEqual([]);
    expect((await lab.call('backbones.list', {})).map((b) => b.name)).not.toContain('dinov2-small');
  });

  it('does not download a file that is not pinned', async () => {
    requests.length = 0;
    const job = await lab.call('backbones.download', { model: 'dinov2-large', precision: 'float32' });
    const end = await ended(job.id);
    expect(end.status).toBe('failed');
    expect(end.error).toMatch(/^dinov2-large \(float32\) is not pinned to a revision and sha256 in this version of DINO Lab, so a download could not be verified and is not made\./);
    expect(requests).toEqual([]);
    expect(modelsDirFiles()).toEqual([]);
  });

  it('keeps a download whose sha256 is the pinned one (a catalogue file pinned to the served bytes)', async () => {
    const file: CatalogFile = { precision: 'float32', file: 'onnx/model.onnx', revision: 'a'.repeat(40), sha256: modelSha, url: 'unused', approxBytes: model.length };
    const dest = path.join(t.dir, 'pinned', 'm.onnx');
    const r = await downloadCatalogFile('onnx-community/test', file, dest, { label: 'test' });
    expect(r.sha256).toBe(modelSha);
    expect(fs.readFileSync(dest).equals(model)).toBe(true);
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['m.onnx']);
    const bad = (await downloadCatalogFile('onnx-community/test', { ...file, sha256: 'b'.repeat(64) }, path.join(t.dir, 'pinned', 'n.onnx'), { label: 'test' }).catch((e: unknown) => e)) as LabError;
    expect(bad.code).toBe('bad_checksum');
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['m.onnx']);
  });
});
