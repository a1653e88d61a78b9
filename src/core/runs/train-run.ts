import { isClassifierKind, type ClassifierKind, type TrainResult } from '../../shared/contract';
import { createClassifier, getSpec, validateParams } from '../classifiers/registry';
import { encodeModel, type EncodedModel } from '../classifiers/model-codec';
import type { Classifier, EpochLog } from '../classifiers/types';
import pkg from '../../../package.json';
import type { Db } from '../db/database';
import { getSetRow, loadSetData, setShape, type SetData } from '../embeddings/queries';
import { LabError, throwIfAborted, toLabError } from '../errors';
import { argmaxRows, takeLabels, takeRows, type Matrix } from '../math/matrix';
import { permutation, Prng } from '../math/prng';
import { classificationMetrics, type ClassificationMetrics } from '../metrics/metrics';
import {
  epochWriter,
  getRunToTrain,
  insertRun,
  markRunDone,
  markRunEnded,
  markRunRunning,
  readRunSource,
  type RunToTrain,
} from './queries';

/** What to train: a classifier kind with params (defaults filled in) on an embedding set, with a seed. */
export interface TrainRequest {
  setId: number;
  kind: ClassifierKind;
  params?: Record<string, unknown>;
  seed?: number;
  /** Train on a seeded subsample of at most this many training rows (all rows when absent). */
  maxRows?: number;
}

/** Hooks a job passes to executeRun: cancel, per-epoch logs, progress. */
export interface TrainCallbacks {
  signal?: AbortSignal;
  onEpoch?: (runId: number, log: EpochLog) => void;
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
  /**
   * Train on these rows of the set's training split only (ascending indices; a label sweep's subset). The
   * test split is whole. Omitted: the whole training split.
   */
  trainRows?: Int32Array;
  /** The set's data already loaded (a sweep trains many runs on one set); omitted: loaded here. */
  preloaded?: SetData;
}

/** The outcome of a finished run: the contract's train-job result. */
export type RunSummary = TrainResult;

/** Validates the request and inserts a 'queued' run; returns its id. LabError('invalid_input') on bad params. */
/**
 * Stores a queued run. Params that cannot work on the set are refused with the limit; `checkSet: false`
 * (the whole-study experiment, which runs each kind's defaults on any set) lets k-NN use every training
 * image when the set has fewer than k.
 */
export function createRun(db: Db, req: TrainRequest, jobId?: string, opts: { checkSet?: boolean } = {}): number {
  if (!isClassifierKind(req.kind)) throw new LabError('invalid_input', `Unknown classifier "${String(req.kind)}".`);
  // The seed's range is the contract's (`seed` in shared/api/common.ts), checked where the call came in.
  const seed = req.seed ?? 0;
  if (!getSetRow(db, req.setId)) throw new LabError('not_found', `Embedding set ${req.setId} does not exist.`);
  // The spec validates the params and fills in the defaults that are stored with the run.
  const params = validateParams(req.kind, req.params ?? {});
  // Params that cannot work on this set (k beyond its training images...) are refused now, with the limit.
  const problem = opts.checkSet === false ? null : getSpec(req.kind).checkSet?.(params, setShape(db, req.setId));
  if (problem) throw new LabError('invalid_input', `Invalid ${req.kind} parameters for set ${req.setId}: ${problem}`);
  if (req.maxRows !== undefined && (!Number.isInteger(req.maxRows) || req.maxRows < 2)) {
    throw new LabError('invalid_input', `maxRows must be an integer of at least 2 (got ${req.maxRows}).`);
  }
  return insertRun(db, { setId: req.setId, kind: req.kind, params, seed, jobId: jobId ?? null, maxRows: req.maxRows ?? null });
}

/**
 * Train-split metrics are measured on a seeded subsample of at most this many training rows (all rows
 * when there are fewer): the train score is a diagnostic, and scoring 50,000 rows costs as much as a fit
 * for some kinds (k-NN: O(n^2 d)). Test metrics always use the whole test split.
 */
export const TRAIN_METRIC_MAX_ROWS = 10_000;

/** The training rows scored for train-split metrics: all when n <= max, else a seeded sample (sorted). */
export function trainMetricRows(n: number, seed: number, max: number = TRAIN_METRIC_MAX_ROWS): Int32Array {
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  return permutation(n, new Prng(seed ^ 0x7e57)).subarray(0, max).sort();
}

/**
 * The set with its training split cut to a seeded subsample of at most maxRows rows (kept in sample
 * order), or unchanged when there is no cap or fewer rows. The test split is never cut.
 */
export function capTrainingRows(data: SetData, maxRows: number | null, seed: number): SetData {
  if (maxRows === null || data.train.X.rows <= maxRows) return data;
  const rows = permutation(data.train.X.rows, new Prng(seed ^ 0x5ca1e)).subarray(0, maxRows).sort();
  const tr = data.train;
  return { ...data, train: { X: takeRows(tr.X, rows), y: takeLabels(tr.y, rows), ids: takeLabels(tr.ids, rows) } };
}

/** What fitting and evaluating a classifier gave, before it is stored. */
interface Evaluation {
  fitSeconds: number;
  predictRowsPerSec: number;
  /** Rows of the training split its train metrics were measured on. */
  trainMetricRows: number;
  train: ClassificationMetrics;
  test: ClassificationMetrics | null;
  proba: Matrix | null;
  testPred: Int32Array | null;
}

/**
 * Trains a queued run: loads the set, fits (epoch logs written as they come), measures train/test metrics,
 * stores test predictions, the saved model and timings, and marks the run 'done' ('failed' with the reason
 * on error, 'cancelled' on abort). Results are written in one transaction, so a run is never half-stored.
 */
export async function executeRun(db: Db, runId: number, cb: TrainCallbacks = {}): Promise<RunSummary> {
  const run = getRunToTrain(db, runId);
  if (!run) throw new LabError('not_found', `Run ${runId} does not exist.`);
  if (run.status === 'done' || run.status === 'running') {
    throw new LabError('conflict', `Run ${runId} is already ${run.status}; start a new run to train again.`);
  }
  try {
    // What the run is trained from (dataset, backbone file, set, app version), kept as the run's provenance.
    markRunRunning(db, runId, { ...readRunSource(db, run.set_id), app_version: pkg.version });
    cb.onProgress?.({ phase: 'load', done: 0, total: 1 });
    const full = cb.preloaded ?? loadSetData(db, run.set_id);
    const subset: SetData = cb.trainRows ? { ...full, train: subsetOf(full.train, cb.trainRows) } : full;
    const data = capTrainingRows(subset, run.max_train_rows, run.seed);
    if (data.train.X.rows === 0) throw new LabError('invalid_input', `Embedding set ${run.set_id} has no training rows.`);
    throwIfAborted(cb.signal);
    const kind = run.kind as ClassifierKind;
    const clf = createClassifier(kind, JSON.parse(run.params) as Record<string, unknown>, { numClasses: data.numClasses, seed: run.seed });
    const ev = await fitAndEvaluate(db, run, clf, data, cb);
    // A model fitted on part of the training split (a sweep's subset, a capped run) keeps its rows' sample ids.
    const partial = data.train.X.rows < full.train.X.rows;
    const { model, modelBytes } = saveModel(run, clf, data, partial);
    const backend = clf.backend;
    markRunDone(db, runId, { ...ev, testIds: data.test.ids, model, fingerprint: data.fingerprint, backend, modelBytes });
    cb.onProgress?.({ phase: 'evaluate', done: 2, total: 2 });
    return {
      runId,
      kind,
      status: 'done',
      backend,
      fitSeconds: ev.fitSeconds,
      predictRowsPerSec: ev.predictRowsPerSec,
      modelBytes,
      numClasses: data.numClasses,
      trainRows: data.train.X.rows,
      trainMetricRows: ev.trainMetricRows,
      testRows: data.test.X.rows,
      train: ev.train,
      test: ev.test,
    };
  } catch (err) {
    const e = cb.signal?.aborted ? new LabError('cancelled', 'Cancelled.') : toLabError(err);
    markRunEnded(db, runId, e.code === 'cancelled' ? 'cancelled' : 'failed', e.code === 'cancelled' ? null : e.message);
    throw e;
  }
}

/** The chosen rows of a split, in their order. */
function subsetOf(split: SetData['train'], rows: Int32Array): SetData['train'] {
  for (const r of rows) if (r < 0 || r >= split.X.rows) throw new LabError('invalid_input', `Training row ${r} is outside the split (${split.X.rows} rows).`);
  return { ...split, X: takeRows(split.X, rows), y: takeLabels(split.y, rows), ids: Int32Array.from(rows, (r) => split.ids[r]!) };
}

/** Fits on the training split (epoch logs stored as they come), then scores train and test splits. */
async function fitAndEvaluate(db: Db, run: RunToTrain, clf: Classifier<object>, data: SetData, cb: TrainCallbacks): Promise<Evaluation> {
  const writeEpoch = epochWriter(db, run.id);
  // Kinds that select their best epoch on the test split (the study's protocol) get it as `validation`.
  const selectOnTest = getSpec(run.kind as ClassifierKind).selectsOnTest?.(clf.params) ?? false;
  if (selectOnTest && data.test.X.rows === 0) {
    throw new LabError('invalid_input', "selectOn 'test' needs a test split, and this set has none.");
  }
  const t0 = performance.now();
  await clf.fit(data.train.X, data.train.y, {
    signal: cb.signal,
    validation: selectOnTest ? { X: data.test.X, y: data.test.y } : undefined,
    onEpoch: (log) => {
      writeEpoch(log);
      cb.onEpoch?.(run.id, log);
    },
    onProgress: (done, total, phase) => cb.onProgress?.({ phase, done, total }),
  });
  const fitSeconds = (performance.now() - t0) / 1000;
  throwIfAborted(cb.signal);
  cb.onProgress?.({ phase: 'evaluate', done: 0, total: 2 });
  const rows = trainMetricRows(data.train.X.rows, run.seed);
  const all = rows.length === data.train.X.rows;
  // Kinds that would score a training row with itself (k-NN: a row is its own nearest neighbour) leave it out.
  const trainPred = clf.predictTrainingRows
    ? await clf.predictTrainingRows(rows, cb.signal)
    : await clf.predict(all ? data.train.X : takeRows(data.train.X, rows));
  const train = classificationMetrics(all ? data.train.y : takeLabels(data.train.y, rows), trainPred, data.numClasses);
  let proba: Matrix | null = null;
  let predictRowsPerSec: number;
  const t1 = performance.now();
  if (data.test.X.rows > 0) {
    proba = await clf.predictProba(data.test.X);
    const secs = (performance.now() - t1) / 1000;
    predictRowsPerSec = data.test.X.rows / Math.max(secs, 1e-9);
  } else {
    predictRowsPerSec = data.train.X.rows / Math.max((performance.now() - t0) / 1000 - fitSeconds, 1e-9);
  }
  throwIfAborted(cb.signal);
  cb.onProgress?.({ phase: 'evaluate', done: 1, total: 2 });
  let test: ClassificationMetrics | null = null;
  let testPred: Int32Array | null = null;
  if (proba) {
    // Labels come from predict(), not argmax(proba): for svc they differ (one-vs-one voting vs Platt
    // probabilities), and scikit-learn's metrics use predict(). Kinds whose predict() is argmax(proba)
    // take them from the probabilities they just gave, instead of scoring the test split twice (k-NN at
    // 50,000 x 3,072: 12 s).
    testPred = getSpec(run.kind as ClassifierKind).labelsAreArgmaxProba ? argmaxRows(proba) : await clf.predict(data.test.X);
    test = classificationMetrics(data.test.y, testPred, data.numClasses);
  }
  return { fitSeconds, predictRowsPerSec, trainMetricRows: rows.length, train, test, proba, testPred };
}

/**
 * The saved model as stored (a JSON header and binary arrays, see model-codec.ts) and its size. A kind whose
 * model is its training set (k-NN) stores a reference to the set's vectors instead of a copy (614 MB at
 * 50,000 x 3,072), replaced before anything is encoded; the set outlives its runs (deleting it deletes
 * them), and the referenced vectors count in the model's size.
 */
export function saveModel(
  run: Pick<RunToTrain, 'kind' | 'set_id'>,
  clf: Classifier<object>,
  data: { train: { X: Matrix; ids: Int32Array } },
  partial = false,
): { model: EncodedModel; modelBytes: number } {
  const saved = clf.toJSON();
  let referencedBytes = 0;
  if (getSpec(run.kind as ClassifierKind).tags.keepsTrainingSetByReference) {
    referencedBytes = data.train.X.data.byteLength;
    delete saved.state.train;
    saved.state.trainFromSet = run.set_id;
    // Trained on part of the split (a capped subsample, a sweep's subset): the sample ids of its rows (a few
    // bytes each), in fit() order.
    if (partial) saved.state.trainSampleIds = data.train.ids;
  }
  const model = encodeModel(saved);
  const arrayBytes = model.arrays.reduce((a, x) => a + x.byteLength, 0);
  return { model, modelBytes: model.header.byteLength + arrayBytes + referencedBytes };
}
