/**
 * The ETA of a training run while it runs, from its pre-start estimate (runs/estimate.ts) and what it has
 * done so far: in a phase that counts its steps (epochs, C values, class pairs) the elapsed time per step
 * done, weighed against the estimate by the fraction done (early on the estimate, late the measurement);
 * once the fit is over, the rest of the estimate is scaled by how far the fit's own estimate was off (a
 * reference rate from another machine is corrected by this one's measured speed).
 */

/** The pre-start estimate a run's ETA starts from (seconds; null where there is none). */
export interface RunPlan {
  fit: number | null;
  predict: number | null;
}

/** Where a run is, from its progress phases: 'load' before fit, 'evaluate' after, any other phase is the fit's. */
type Stage = 'load' | 'fit' | 'evaluate';

/** A run's seconds left, told from its progress reports. */
export class RunEta {
  private stage: Stage = 'load';
  private stageStart: number;
  /** Measured fit seconds over the estimated ones (1 until the fit is over). */
  private speed = 1;

  constructor(
    private readonly plan: RunPlan,
    private readonly clock: () => number = () => performance.now() / 1000,
  ) {
    this.stageStart = clock();
  }

  /** The seconds left after this progress report, or null when nothing can tell. */
  remaining(phase: string, done: number, total: number): number | null {
    const now = this.clock();
    const stage: Stage = phase === 'load' ? 'load' : phase === 'evaluate' ? 'evaluate' : 'fit';
    if (stage !== this.stage) {
      if (this.stage === 'fit' && stage === 'evaluate' && this.plan.fit && this.plan.fit > 0) {
        this.speed = Math.min(5, Math.max(0.2, (now - this.stageStart) / this.plan.fit));
      }
      this.stage = stage;
      this.stageStart = now;
    }
    const predict = this.plan.predict === null ? null : this.plan.predict * this.speed;
    const elapsed = now - this.stageStart;
    if (stage === 'load') return this.plan.fit === null || predict === null ? null : this.plan.fit + predict;
    if (stage === 'fit') {
      const fit = blend(this.plan.fit, elapsed, done, total);
      return fit === null ? null : fit + (predict ?? 0);
    }
    return blend(predict, elapsed, done, total);
  }
}

/**
 * The seconds left of a stage estimated at `est` seconds, `elapsed` into it, `done` of `total` steps done:
 * the measured pace weighed by the fraction done against the estimate's rest; null when neither tells
 * (no step done and the estimate already passed, or no estimate).
 */
export function blend(est: number | null, elapsed: number, done: number, total: number): number | null {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  if (f >= 1) return 0;
  const measured = f > 0 ? (elapsed * (1 - f)) / f : null;
  const byEst = est !== null && elapsed < est ? est - elapsed : null;
  if (measured !== null && byEst !== null) return f * measured + (1 - f) * byEst;
  return measured ?? byEst;
}
