/**
 * The study view: every run on every embedding set of one dataset, the matrix of kinds x sets (one cell per
 * kind and set: the run chosen by validation, its test metric and a 95 % interval), and each run's
 * provenance with the `dinolab train` line that reproduces it.
 */
import {
  CLASSIFIER_KINDS,
  isClassifierKind,
  STUDY_METRICS,
  type Provenance,
  type Study,
  type StudyCell,
  type StudyMetric,
  type StudyRun,
} from '../../shared/contract';
import { getSpec } from '../classifiers/registry';
import type { Db } from '../db/database';
import { getDataset } from '../datasets/queries';
import { Prng } from '../math/prng';
import type { ClassificationMetrics } from '../metrics/metrics';
import { selectsOnTest, validationAccuracy } from './validation';
import { getRun, listDatasetRunIds, listDatasetSetIds, readRunProvenance, readRunSource, type RunDetail } from './queries';

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

/** Wilson score interval of a proportion k/n (95 %); [0, 1] when n is 0. */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** A metric from a confusion matrix (rows true, columns predicted), scikit-learn's definitions with zero_division=0. */
export function metricFromConfusion(cm: number[][], metric: StudyMetric): number {
  const C = cm.length;
  let n = 0;
  let correct = 0;
  const support = new Array<number>(C).fill(0);
  const predicted = new Array<number>(C).fill(0);
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      const v = cm[i]![j]!;
      n += v;
      support[i]! += v;
      predicted[j]! += v;
    }
    correct += cm[i]![i]!;
  }
  if (metric === 'accuracy') return n ? correct / n : 0;
  let sum = 0;
  for (let c = 0; c < C; c++) {
    const tp = cm[c]![c]!;
    const prec = predicted[c]! > 0 ? tp / predicted[c]! : 0;
    const rec = support[c]! > 0 ? tp / support[c]! : 0;
    const den = 2 * tp + (predicted[c]! - tp) + (support[c]! - tp);
    const f1 = den > 0 && tp > 0 ? (2 * tp) / den : 0;
    const v = metric.startsWith('precision') ? prec : metric.startsWith('recall') ? rec : f1;
    sum += metric.endsWith('_weighted') ? v * support[c]! : v;
  }
  return metric.endsWith('_weighted') ? (n ? sum / n : 0) : C ? sum / C : 0;
}

/**
 * Percentile bootstrap (95 %) of a metric over the test split: the n (true, predicted) pairs are resampled
 * with replacement from the confusion counts, B times, with a fixed seed (the same interval every time).
 */
export function bootstrapInterval(cm: number[][], metric: StudyMetric, B = 1000, seed = 0): [number, number] {
  const C = cm.length;
  const cum: number[] = [];
  let n = 0;
  for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) cum.push((n += cm[i]![j]!));
  if (n === 0) return [0, 1];
  const rng = new Prng(seed);
  const vals = new Float64Array(B);
  const boot = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let b = 0; b < B; b++) {
    for (const r of boot) r.fill(0);
    for (let s = 0; s < n; s++) {
      const u = rng.int(n);
      let lo = 0;
      let hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cum[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      boot[Math.floor(lo / C)]![lo % C]!++;
    }
    vals[b] = metricFromConfusion(boot, metric);
  }
  vals.sort();
  return [vals[Math.floor(0.025 * (B - 1))]!, vals[Math.ceil(0.975 * (B - 1))]!];
}

/** Quotes one word for a POSIX shell (unchanged when it needs no quoting). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `dinolab train` line that trains the run again: same set, kind, every parameter (defaults filled in,
 * JSON values, as `--param` parses them) and seed. On the same set, machine and engine it gives the same metrics.
 */
export function reproduceCommand(r: { set_id: number; kind: string; params: Record<string, unknown>; seed: number; max_train_rows?: number | null }): string {
  const parts = ['dinolab', 'train', '--set', String(r.set_id), '--model', r.kind];
  for (const k of Object.keys(r.params).sort()) parts.push('--param', shellQuote(`${k}=${JSON.stringify(r.params[k])}`));
  if (r.max_train_rows) parts.push('--max-rows', String(r.max_train_rows));
  parts.push('--seed', String(r.seed));
  return parts.join(' ');
}

/** A run's provenance: the snapshot taken when it began training, else (older runs) its set as it is now. */
export function runProvenance(db: Db, r: RunDetail): Provenance {
  const snap = readRunProvenance(db, r.id);
  const src = snap ?? readRunSource(db, r.set_id);
  const duration = r.started_at && r.finished_at ? (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000 : null;
  return {
    dataset: src.dataset,
    backbone: src.backbone,
    embedding_set: src.embedding_set,
    kind: r.kind,
    params: r.params,
    seed: r.seed,
    backend: r.backend,
    app_version: snap?.app_version ?? null,
    started_at: r.started_at,
    finished_at: r.finished_at,
    duration_seconds: duration !== null && Number.isFinite(duration) ? duration : null,
    selected_on_test: selectsOnTest(r),
    sweep_id: r.sweep_id,
    max_train_rows: r.max_train_rows,
    train_metric_rows: r.train_metric_rows,
    snapshot: snap !== null,
    command: reproduceCommand(r),
  };
}

const scalars = (m: ClassificationMetrics | undefined): Record<StudyMetric, number> | null =>
  m ? (Object.fromEntries(STUDY_METRICS.map((k) => [k, m[k]])) as Record<StudyMetric, number>) : null;

/** One run as the study lists it. */
export function studyRunOf(db: Db, r: RunDetail): StudyRun {
  const val = validationAccuracy(r);
  return {
    id: r.id,
    set_id: r.set_id,
    name: r.name,
    notes: r.notes,
    kind: r.kind,
    status: r.status,
    seed: r.seed,
    params: r.params,
    backend: r.backend,
    fit_seconds: r.fit_seconds,
    predict_rows_per_sec: r.predict_rows_per_sec,
    model_bytes: r.model_bytes,
    created_at: r.created_at,
    has_epochs: isClassifierKind(r.kind) ? getSpec(r.kind).tags.epochs : false,
    selected_on_test: selectsOnTest(r),
    sweep_id: r.sweep_id,
    metrics: { train: scalars(r.metrics.train), validation: val === null ? null : { accuracy: val }, test: scalars(r.metrics.test) },
    provenance: runProvenance(db, r),
  };
}

/** The cell of one kind on one set: the run chosen by validation (never by test), its metric and interval. */
function cellOf(runs: { run: StudyRun; detail: RunDetail }[], metric: StudyMetric): StudyCell | null {
  const done = runs.filter((x) => x.run.status === 'done' && x.detail.metrics.test).sort((a, b) => b.run.id - a.run.id);
  if (!done.length) return null;
  const clean = done.filter((x) => !x.run.selected_on_test);
  const pool = clean.length ? clean : done;
  const scored = pool.filter((x) => x.run.metrics.validation !== null);
  let chosen = pool[0]!;
  let chosenBy: StudyCell['chosen_by'] = 'newest';
  if (scored.length) {
    chosenBy = 'validation';
    chosen = scored.reduce((best, x) => (x.run.metrics.validation!.accuracy > best.run.metrics.validation!.accuracy ? x : best)); // newest first: ties keep the newest
  }
  const cm = chosen.detail.metrics.test!.confusion;
  const value = metricFromConfusion(cm, metric);
  let lo: number;
  let hi: number;
  if (metric === 'accuracy') {
    const n = cm.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
    [lo, hi] = wilson(cm.reduce((s, row, i) => s + row[i]!, 0), n);
  } else {
    // 1000 resamples on small test splits, fewer on large ones (200 at 10,000 rows, whose interval is narrow):
    // at most ~2 million draws, a few hundred ms per cell.
    const n = cm.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
    [lo, hi] = bootstrapInterval(cm, metric, Math.max(200, Math.min(1000, Math.round(2e6 / Math.max(1, n)))), chosen.run.id);
  }
  return {
    run_id: chosen.run.id,
    value,
    lo,
    hi,
    interval: metric === 'accuracy' ? 'wilson' : 'bootstrap',
    count: done.length,
    run_ids: done.map((x) => x.run.id),
    chosen_by: chosenBy,
    selected_on_test: chosen.run.selected_on_test,
    best_in_row: false,
    best_in_column: false,
  };
}

/** Marks the best cells of a line (ties all marked); cells selected on test take no part. */
function markBest(cells: (StudyCell | null)[], key: 'best_in_row' | 'best_in_column'): void {
  const eligible = cells.filter((c): c is StudyCell => c !== null && !c.selected_on_test);
  if (!eligible.length) return;
  const max = Math.max(...eligible.map((c) => c.value));
  for (const c of eligible) if (c.value === max) c[key] = true;
}

/** Column label of a set: backbone, preset and (when known) where it was preprocessed. */
function columnLabel(s: { backbone: { name: string }; embedding_set: { preset: string; preprocessing: string | null } }): string {
  return `${s.backbone.name} · ${s.embedding_set.preset}${s.embedding_set.preprocessing ? ` · ${s.embedding_set.preprocessing}` : ''}`;
}

/** The study of a dataset: columns (its finished sets and any set with runs), rows (kinds with runs), every run. */
export function buildStudy(db: Db, datasetId: number, opts: { metric?: StudyMetric; includeSweeps?: boolean } = {}): Study {
  const metric = opts.metric ?? 'accuracy';
  const ds = getDataset(db, datasetId);
  const ids = listDatasetRunIds(db, datasetId);
  const all = ids.map((x) => getRun(db, x.id));
  const inScope = all.filter((r) => opts.includeSweeps || r.sweep_id === null);
  const entries = inScope.map((detail) => ({ detail, run: studyRunOf(db, detail) }));
  const setIds = [...new Set([...listDatasetSetIds(db, datasetId), ...inScope.map((r) => r.set_id)])].sort((a, b) => a - b);
  const columns = setIds.map((id) => {
    const s = readRunSource(db, id);
    return { set_id: id, label: columnLabel(s), backbone: s.backbone.name, sha256: s.backbone.sha256, preset: s.embedding_set.preset, preprocessing: s.embedding_set.preprocessing };
  });
  const kinds = [...CLASSIFIER_KINDS.filter((k) => entries.some((e) => e.run.kind === k)), ...new Set(entries.map((e) => e.run.kind).filter((k) => !isClassifierKind(k)))];
  const rows = kinds.map((kind) => ({
    kind,
    cells: setIds.map((setId) => cellOf(entries.filter((e) => e.run.kind === kind && e.run.set_id === setId), metric)),
  }));
  for (const r of rows) markBest(r.cells, 'best_in_row');
  setIds.forEach((_s, j) => markBest(rows.map((r) => r.cells[j] ?? null), 'best_in_column'));
  return {
    dataset: { id: ds.id, name: ds.name, fingerprint: ds.fingerprint, classes: ds.classes },
    metric,
    columns,
    rows,
    runs: entries.map((e) => e.run),
    hidden_sweep_runs: all.length - inScope.length,
  };
}
