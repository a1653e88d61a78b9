/**
 * The pre-start estimate of a training run: scaled from the newest finished run of the same kind on this
 * database (this machine's measured fit time and prediction rate), by the set's size: fit time ~
 * (rows^e x dim) with the kind's costExponent (1, svc 2), prediction ~ rows scored x dim.
 */
import type { ClassifierKind, TrainEstimate } from '../../shared/contract';
import { getSpec } from '../classifiers/registry';
import { LabError } from '../errors';
import { measuredRuns, setSize } from './queries';
import { TRAIN_METRIC_MAX_ROWS } from './train-run';

/** Past this many seconds an estimate warns and suggests a row cap. */
export const LONG_RUN_SECONDS = 30 * 60;

/** The estimate of training `kind` on set `setId` (optionally capped to maxRows training rows). */
export function estimateRun(db: Parameters<typeof setSize>[0], setId: number, kind: ClassifierKind, maxRows?: number): TrainEstimate {
  const size = setSize(db, setId);
  if (!size) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  const n = maxRows ? Math.min(maxRows, size.trainRows) : size.trainRows;
  const scored = size.testRows * 2 + Math.min(n, TRAIN_METRIC_MAX_ROWS);
  const past = measuredRuns(db, kind, 1)[0];
  if (!past || past.trainRows === 0) {
    return { kind, trainRows: n, seconds: null, warning: null, basis: `No finished ${kind} run on this machine yet: no estimate.` };
  }
  const e = getSpec(kind).costExponent ?? 1;
  const fit = past.fitSeconds * ((n / past.trainRows) ** e * (size.dim / past.dim));
  const predict = (scored / past.predictRowsPerSec) * (size.dim / past.dim) * (kind === 'knn' ? n / past.trainRows : 1);
  const seconds = fit + predict;
  let warning: string | null = null;
  if (seconds > LONG_RUN_SECONDS) {
    // The largest row count that fits in the bound, by the same scaling (fit dominates at this size).
    const capped = Math.max(2, Math.floor(past.trainRows * (LONG_RUN_SECONDS / 2 / Math.max(past.fitSeconds * (size.dim / past.dim), 1e-9)) ** (1 / e)));
    warning = `About ${Math.round(seconds / 60)} min on this machine: over ${LONG_RUN_SECONDS / 60} min. Cap the rows (--max-rows ${Math.min(capped, n)}) to bring it down.`;
  }
  return {
    kind,
    trainRows: n,
    seconds,
    warning,
    basis: `Scaled from a ${kind} run on ${past.trainRows} x ${past.dim} here (fit ${past.fitSeconds.toFixed(1)} s, ${Math.round(past.predictRowsPerSec)} rows/s).`,
  };
}
