/**
 * The pre-start estimate of a training run, and of several (the "Train every kind" button, an experiment).
 *
 * A run's time is scaled from one measured point of the same kind: this machine's finished runs when it
 * has one (the one nearest in size of its last few), else the reference rates the scale bench measured
 * and committed (`reference-rates.json`, said so in the basis). From a point measured on n0 rows of d0
 * dims to a set of n rows of d dims:
 *   fit     = fit0 x (n / n0)^costExponent x (d / d0)                         (svc: n^2, others n)
 *   predict = scored rows / rate0 x (d / d0) x (n / n0)^predictCostExponent  (k-NN, svc: every row against the training rows / support vectors)
 * where scored rows = the test split (twice for kinds that score it again for their labels)
 * plus the train-metric sample (at most TRAIN_METRIC_MAX_ROWS).
 */
import { isClassifierKind, type ClassifierKind, type ExperimentEstimate, type TrainEstimate } from '../../shared/contract';
import type { Db } from '../db/database';
import { getSpec, validateParams } from '../classifiers/registry';
import { LabError } from '../errors';
import type { RunPlan } from './eta';
import { getRunToTrain, measuredRuns, setSize, type MeasuredRun } from './queries';
import { TRAIN_METRIC_MAX_ROWS } from './train-run';
import reference from './reference-rates.json';

/** Past this many seconds an estimate warns and suggests a row cap. */
export const LONG_RUN_SECONDS = 30 * 60;

/** One measured point of a kind: its size and what it took. */
export interface RatePoint {
  trainRows: number;
  dim: number;
  fitSeconds: number;
  /** Rows per second of predictProba on the test split (at trainRows x dim). */
  predictRowsPerSec: number;
  /** The params it ran with (JSON; absent: the kind's defaults). */
  params?: string;
}

/**
 * The fit's relative amount of work under these params: the spec's fitWork, else the epochs of a kind
 * that trains in epochs, else 1. Params that do not validate count as the defaults.
 */
export function fitWork(kind: ClassifierKind, params: Record<string, unknown> | undefined): number {
  const spec = getSpec(kind);
  let p: object;
  try {
    p = validateParams(kind, params ?? {});
  } catch {
    p = validateParams(kind, {});
  }
  if (spec.fitWork) return Math.max(spec.fitWork(p), 1e-9);
  const epochs = (p as { epochs?: unknown }).epochs;
  return spec.tags.epochs && typeof epochs === 'number' && epochs > 0 ? epochs : 1;
}

const parsedParams = (json: string | undefined): Record<string, unknown> | undefined => {
  if (!json) return undefined;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** The size of what is estimated. */
export interface SetSize {
  trainRows: number;
  testRows: number;
  dim: number;
}

/** A committed reference point (from `npm run bench -- scale`), with where it was measured. */
interface ReferencePoint extends RatePoint {
  kind: string;
  source: string;
}

/** The reference points of a kind (committed; measured by the scale bench on the project's 2-core machine). */
export function referencePoints(kind: string): ReferencePoint[] {
  return (reference.points as ReferencePoint[]).filter((p) => p.kind === kind);
}

/** How far apart two sizes are (log scale, rows and dims): the nearest point scales best. */
function sizeDistance(a: { trainRows: number; dim: number }, b: { trainRows: number; dim: number }): number {
  return Math.abs(Math.log(Math.max(a.trainRows, 1) / Math.max(b.trainRows, 1))) + Math.abs(Math.log(Math.max(a.dim, 1) / Math.max(b.dim, 1)));
}

/**
 * The seconds to fit and to predict (test split + train-metric sample) for `kind` at `size` with n
 * training rows and these params (absent: the defaults), scaled from `p`.
 */
export function scaleFromPoint(kind: ClassifierKind, p: RatePoint, size: SetSize, n: number, params?: Record<string, unknown>): { fit: number; predict: number } {
  const spec = getSpec(kind);
  const work = fitWork(kind, params) / fitWork(kind, parsedParams(p.params));
  const e = spec.costExponent ?? 1;
  const pe = spec.predictCostExponent ?? 0;
  const dimRatio = size.dim / p.dim;
  const rowRatio = n / p.trainRows;
  const scored = size.testRows * (spec.labelsAreArgmaxProba || spec.scoresTestOnce ? 1 : 2) + Math.min(n, TRAIN_METRIC_MAX_ROWS);
  return {
    fit: p.fitSeconds * rowRatio ** e * dimRatio * work,
    predict: (scored / p.predictRowsPerSec) * dimRatio * rowRatio ** pe,
  };
}

/** Where an estimate scales from: this machine's nearest finished run, else the nearest reference point. */
export function chooseBasis(kind: ClassifierKind, target: { trainRows: number; dim: number }, measured: MeasuredRun[]): { point: RatePoint; basis: string; reference: boolean } | null {
  const own = measured.filter((m) => m.trainRows > 0 && m.predictRowsPerSec > 0).sort((a, b) => sizeDistance(a, target) - sizeDistance(b, target))[0];
  if (own) {
    return {
      point: own,
      reference: false,
      basis: `Scaled from a ${kind} run on ${own.trainRows.toLocaleString('en-US')} x ${own.dim} on this machine (fit ${own.fitSeconds.toFixed(1)} s, ${Math.round(own.predictRowsPerSec).toLocaleString('en-US')} rows/s).`,
    };
  }
  const ref = referencePoints(kind).sort((a, b) => sizeDistance(a, target) - sizeDistance(b, target))[0];
  if (!ref) return null;
  return {
    point: ref,
    reference: true,
    basis:
      `No finished ${kind} run on this machine yet: scaled from the reference rate measured by the scale bench on ${reference.machine} ` +
      `(${kind} on ${ref.trainRows.toLocaleString('en-US')} x ${ref.dim}: fit ${ref.fitSeconds.toFixed(1)} s, ${Math.round(ref.predictRowsPerSec).toLocaleString('en-US')} rows/s; ${ref.source}). A run here will measure this machine.`,
  };
}

/** The estimate of `kind` on a set of this size (optionally capped to maxRows training rows). */
export function estimateForSize(
  kind: ClassifierKind,
  size: SetSize,
  measured: MeasuredRun[],
  maxRows?: number | null,
  params?: Record<string, unknown>,
): { estimate: TrainEstimate; fitSeconds: number | null; predictSeconds: number | null } {
  const n = maxRows ? Math.min(maxRows, size.trainRows) : size.trainRows;
  const b = chooseBasis(kind, { trainRows: n, dim: size.dim }, measured);
  if (!b) {
    const basis = `No finished ${kind} run on this machine and no reference rate: no estimate.`;
    return { estimate: { kind, trainRows: n, seconds: null, warning: null, suggestedMaxRows: null, reference: false, basis }, fitSeconds: null, predictSeconds: null };
  }
  const { fit, predict } = scaleFromPoint(kind, b.point, size, n, params);
  const seconds = fit + predict;
  let warning: string | null = null;
  let suggestedMaxRows: number | null = null;
  if (seconds > LONG_RUN_SECONDS) {
    // The largest row count whose estimate (fit and predict, by the same scaling) is within the bound.
    const cap = largestRowsWithin(kind, b.point, size, n, LONG_RUN_SECONDS, params);
    suggestedMaxRows = cap >= 2 ? cap : null;
    const where = b.reference ? 'by the reference rates' : 'on this machine';
    warning =
      cap >= 2
        ? `About ${Math.round(seconds / 60)} min ${where}: over ${LONG_RUN_SECONDS / 60} min. Cap the rows (--max-rows ${cap}, about ${Math.max(1, Math.round(totalAt(kind, b.point, size, cap, params) / 60))} min) to bring it down.`
        : `About ${Math.round(seconds / 60)} min ${where}: over ${LONG_RUN_SECONDS / 60} min, even with the rows capped (scoring the test split alone takes longer).`;
  }
  return { estimate: { kind, trainRows: n, seconds, warning, suggestedMaxRows, reference: b.reference, basis: b.basis }, fitSeconds: fit, predictSeconds: predict };
}

function totalAt(kind: ClassifierKind, p: RatePoint, size: SetSize, n: number, params?: Record<string, unknown>): number {
  const t = scaleFromPoint(kind, p, size, n, params);
  return t.fit + t.predict;
}

/** The largest n <= max whose estimate is within `bound` seconds (1 when none is). Time grows with n, so a bisection finds it. */
function largestRowsWithin(kind: ClassifierKind, p: RatePoint, size: SetSize, max: number, bound: number, params?: Record<string, unknown>): number {
  let lo = 1;
  let hi = max;
  if (totalAt(kind, p, size, 2, params) > bound) return 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (totalAt(kind, p, size, mid, params) <= bound) lo = mid;
    else hi = mid;
  }
  // A round figure (2 significant digits, rounded down) is easier to type and still within the bound.
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(lo)) - 1);
  return Math.max(2, Math.floor(lo / mag) * mag);
}

/** The estimate of training `kind` with `params` (absent: its defaults) on set `setId`, optionally capped to maxRows training rows. */
export function estimateRun(db: Db, setId: number, kind: ClassifierKind, maxRows?: number | null, params?: Record<string, unknown>): TrainEstimate {
  const size = setSize(db, setId);
  if (!size) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  return estimateForSize(kind, size, measuredRuns(db, kind, 10), maxRows, params).estimate;
}

/** The fit and predict seconds a queued run is estimated at (nulls when there is no estimate): where its ETA starts. */
export function runPlan(db: Db, runId: number): RunPlan {
  const run = getRunToTrain(db, runId);
  const size = run ? setSize(db, run.set_id) : undefined;
  if (!run || !size || !isClassifierKind(run.kind)) return { fit: null, predict: null };
  const e = estimateForSize(run.kind, size, measuredRuns(db, run.kind, 10), run.max_train_rows, parsedParams(run.params));
  return { fit: e.fitSeconds, predict: e.predictSeconds };
}

/** One item of a multi-run estimate: a kind on a set of this size. */
export interface PlannedRun {
  setLabel: string;
  size: SetSize;
  kind: ClassifierKind;
}

/** The sum of several runs' estimates ("Train every kind", an experiment); null seconds when any is unknown. */
export function estimatePlan(db: Db, plan: PlannedRun[], maxRows?: number | null, notes: string[] = []): ExperimentEstimate {
  const runs = plan.map((r) => {
    return { ...estimateForSize(r.kind, r.size, measuredRuns(db, r.kind, 10), maxRows).estimate, set: r.setLabel };
  });
  const unknown = runs.filter((r) => r.seconds === null).map((r) => r.kind);
  const known = runs.reduce((a, r) => a + (r.seconds ?? 0), 0);
  const seconds = unknown.length ? null : known;
  const long = runs.filter((r) => r.warning);
  const caps = long.flatMap((r) => (r.suggestedMaxRows === null ? [] : [r.suggestedMaxRows]));
  const names = long.map((r) => `${r.kind} on ${r.set}`).join(', ');
  const warning = !long.length
    ? null
    : `${names} ${long.length === 1 ? 'is' : 'are'} estimated over ${LONG_RUN_SECONDS / 60} min` +
      (caps.length ? `: cap the rows (--max-rows ${Math.min(...caps)}) to bring ${long.length === 1 ? 'it' : 'them'} down.` : ', even with the rows capped.');
  return { seconds, knownSeconds: known, unknownKinds: [...new Set(unknown)], warning, runs, notes };
}

/** The estimate of one run of each of `kinds` on set `setId` (the Train page's "Train every kind"). */
export function estimateSetRuns(db: Db, setId: number, kinds: ClassifierKind[], maxRows?: number | null): ExperimentEstimate {
  const size = setSize(db, setId);
  if (!size) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  return estimatePlan(
    db,
    kinds.map((kind) => ({ setLabel: `set ${setId}`, size, kind })),
    maxRows,
  );
}
