import { describe, expect, it } from 'vitest';
import type { Study, StudyRun } from '../../../../shared/contract';
import { toCsv } from '../../lib/table-export';
import { EXPORT_COLUMNS, PROVENANCE_COLUMNS, flatRow } from './metrics';

const m = { accuracy: 0.5, f1_weighted: 0.4, f1_macro: 0.3, precision_weighted: 0.6, recall_weighted: 0.5, precision_macro: 0.55, recall_macro: 0.45 };
const run: StudyRun = {
  id: 7, set_id: 2, name: 'my run', notes: 'a, "quoted" note', kind: 'mlp', status: 'done', seed: 3, params: { epochs: 5, hidden: 256 },
  backend: 'onnxruntime-cpu', fit_seconds: 1.5, predict_rows_per_sec: 1000, model_bytes: 10, created_at: '2026-01-01T00:00:00.000Z',
  has_epochs: true, selected_on_test: false, sweep_id: null,
  metrics: { train: { ...m, accuracy: 1 }, validation: { accuracy: 0.52 }, test: m },
  provenance: {
    dataset: { id: 1, name: 'Shapes-10', fingerprint: 'ab'.repeat(32) }, backbone: { id: 4, name: 'dinov2-small', sha256: 'cd'.repeat(32) },
    embedding_set: { id: 2, preset: 'dinov2-eval', preprocessing: 'graph' }, kind: 'mlp', params: { epochs: 5, hidden: 256 }, seed: 3,
    backend: 'onnxruntime-cpu', app_version: '0.1.0', started_at: '2026-01-01T00:00:01.000Z', finished_at: '2026-01-01T00:00:03.000Z',
    duration_seconds: 2, selected_on_test: false, sweep_id: null, max_train_rows: null, train_metric_rows: 120, snapshot: true,
    command: "dinolab train --set 2 --model mlp --param epochs=5 --param hidden=256 --seed 3",
  },
};
const study = { columns: [{ set_id: 2, label: 'dinov2-small · dinov2-eval · graph', backbone: 'dinov2-small', sha256: null, preset: 'dinov2-eval', preprocessing: 'graph' }] } as unknown as Study;

describe('Compare export rows', () => {
  it('carry every provenance field, the name, notes and validation accuracy', () => {
    const row = flatRow(run, study);
    for (const c of PROVENANCE_COLUMNS) expect(row[c], c).not.toBeUndefined();
    expect(row).toMatchObject({
      name: 'my run', notes: 'a, "quoted" note', set: 'dinov2-small · dinov2-eval · graph', val_accuracy: 0.52, test_accuracy: 0.5, train_accuracy: 1,
      dataset: 'Shapes-10', dataset_fingerprint: 'ab'.repeat(32), backbone: 'dinov2-small', backbone_sha256: 'cd'.repeat(32), preset: 'dinov2-eval',
      preprocessing: 'graph', seed: 3, backend: 'onnxruntime-cpu', app_version: '0.1.0', duration_seconds: 2, command: run.provenance.command,
    });
    expect(JSON.parse(String(row.params))).toEqual(run.params);
    const csv = toCsv([row], EXPORT_COLUMNS).split('\n');
    expect(csv[0]!.split(',')).toEqual(EXPORT_COLUMNS);
    expect(csv[1]).toContain('"a, ""quoted"" note"');
    expect(csv[1]).toContain(run.provenance.command);
  });
});
