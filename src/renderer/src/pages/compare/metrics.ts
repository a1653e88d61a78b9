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

/** Column order of the CSV/JSON export. */
export const EXPORT_COLUMNS = [
  'id',
  'kind',
  'status',
  ...METRICS.map((m) => `test_${m.key}`),
  ...METRICS.map((m) => `train_${m.key}`),
  'fit_seconds',
  'predict_rows_per_sec',
  'model_bytes',
  'backend',
];

export const runLabel = (r: { kind: string; id: number }): string => `${r.kind} #${r.id}`;
