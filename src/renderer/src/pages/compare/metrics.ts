import type { Study, StudyRun } from '../../../../shared/contract';

/** The metric keys of a comparison row (scikit-learn names) and their short column labels. */
export const METRICS = [
  { key: 'accuracy', short: 'Acc', long: 'Accuracy' },
  { key: 'precision_weighted', short: 'P (w)', long: 'Precision, weighted' },
  { key: 'recall_weighted', short: 'R (w)', long: 'Recall, weighted' },
  { key: 'f1_weighted', short: 'F1 (w)', long: 'F1, weighted' },
  { key: 'precision_macro', short: 'P (m)', long: 'Precision, macro' },
  { key: 'recall_macro', short: 'R (m)', long: 'Recall, macro' },
  { key: 'f1_macro', short: 'F1 (m)', long: 'F1, macro' },
] as const;

/** A run of the study as one flat table row: train_/test_ metrics, val_accuracy, its set's label, provenance columns. */
export type FlatRow = Record<string, string | number | null>;

/** Provenance columns of every exported row (CSV and JSON). */
export const PROVENANCE_COLUMNS = [
  'dataset',
  'dataset_fingerprint',
  'backbone',
  'backbone_sha256',
  'preset',
  'preprocessing',
  'set_id',
  'params',
  'seed',
  'backend',
  'app_version',
  'started_at',
  'finished_at',
  'duration_seconds',
  'selected_on_test',
  'command',
];

/** Column order of the CSV/JSON export. */
export const EXPORT_COLUMNS = [
  'id',
  'name',
  'notes',
  'kind',
  'status',
  'set',
  ...METRICS.map((m) => `test_${m.key}`),
  'val_accuracy',
  ...METRICS.map((m) => `train_${m.key}`),
  'fit_seconds',
  'predict_rows_per_sec',
  'model_bytes',
  ...PROVENANCE_COLUMNS,
];

export function flatRow(r: StudyRun, st: Study): FlatRow {
  const p = r.provenance;
  const row: FlatRow = {
    id: r.id,
    name: r.name,
    notes: r.notes,
    kind: r.kind,
    status: r.status,
    set: st.columns.find((c) => c.set_id === r.set_id)?.label ?? `set ${r.set_id}`,
    val_accuracy: r.metrics.validation?.accuracy ?? null,
    fit_seconds: r.fit_seconds,
    predict_rows_per_sec: r.predict_rows_per_sec,
    model_bytes: r.model_bytes,
    dataset: p.dataset.name,
    dataset_fingerprint: p.dataset.fingerprint,
    backbone: p.backbone.name,
    backbone_sha256: p.backbone.sha256,
    preset: p.embedding_set.preset,
    preprocessing: p.embedding_set.preprocessing,
    set_id: r.set_id,
    params: JSON.stringify(p.params),
    seed: p.seed,
    backend: p.backend,
    app_version: p.app_version,
    started_at: p.started_at,
    finished_at: p.finished_at,
    duration_seconds: p.duration_seconds,
    selected_on_test: p.selected_on_test ? 'yes' : 'no',
    command: p.command,
  };
  for (const m of METRICS) {
    row[`test_${m.key}`] = r.metrics.test?.[m.key] ?? null;
    row[`train_${m.key}`] = r.metrics.train?.[m.key] ?? null;
  }
  return row;
}

/** How a run is named in legends and captions: its name if it has one, else kind and id. */
export const runLabel = (r: { kind: string; id: number; name?: string | null }): string => (r.name ? `${r.name} #${r.id}` : `${r.kind} #${r.id}`);
