import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { nowIso } from '../db/database';
import { Lab } from '../lab';
import { insertBlobEmbeddingSet } from '../runs/test-helpers';
import { deleteProbe, listProbes } from './queries';

let t: ReturnType<typeof tempDir>;
let lab: Lab;
let setId: number;

beforeAll(() => {
  t = tempDir('dinolab-probe-');
  lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
  setId = insertBlobEmbeddingSet(lab.db, { numClasses: 2, dim: 4, trainPerClass: 5, testPerClass: 2 }).setId;
});
afterAll(async () => {
  await lab?.close();
  t?.cleanup();
});

/** A stored probe row as runProbe would leave it (its results are not what this test is about). */
function insertProbe(name: string): number {
  const results = { ood: { similarity: 0.5, percentile: 0.5, unusual: false }, neighbors: [], predictions: [], agree: false };
  const info = lab.db
    .prepare(`INSERT INTO probes (set_id, name, sha256, thumb, embedding, results, created_at) VALUES (?, ?, ?, NULL, NULL, ?, ?)`)
    .run(setId, name, 'sha', JSON.stringify(results), nowIso());
  return Number(info.lastInsertRowid);
}

describe('deleting tried images', () => {
  it('removes only the chosen image', () => {
    const a = insertProbe('a.png');
    const b = insertProbe('b.png');
    deleteProbe(lab.db, a);
    expect(listProbes(lab.db, setId).map((p) => p.id)).toEqual([b]);
    deleteProbe(lab.db, b);
    expect(listProbes(lab.db, setId)).toEqual([]);
  });

  it('refuses an unknown id with not_found and a message naming it', () => {
    expect(() => deleteProbe(lab.db, 987_654)).toThrow(expect.objectContaining({ code: 'not_found', message: expect.stringContaining('987654') }));
  });

  it('works through the contract: { deleted: id }, then not_found for the same id', async () => {
    const id = insertProbe('c.png');
    await expect(lab.call('probes.delete', { id })).resolves.toEqual({ deleted: id });
    expect((await lab.call('probes.list', { setId })).map((p) => p.id)).not.toContain(id);
    const again = await lab.dispatch('probes.delete', { id });
    expect(again).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringMatching(/Tried image \d+ does not exist/) } });
    const bad = await lab.dispatch('probes.delete', { id: -1 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });
});
