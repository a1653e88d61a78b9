/**
 * Picks, run by run, the fastest of a few equivalent ways to do the same work (the dense nets' training
 * sessions on 1 thread or on every core: mlp-onnx.ts), from the times it is told. Which one is fastest
 * depends on what else the machine is doing. On this 2-core machine at 3,072 x 256, quiet, two threads took
 * 2.0 ms a step and one 3.6 (bench/results/mlp-step.json); with two busy processes beside it, two threads took
 * 7.8 and one 5.2 (mlp-step-busy2.json). So each option is measured, the fastest is used, and the others are
 * tried again every `probeEvery` runs (a run is 64 steps).
 */
export class FastestChooser {
  /** Runs per option so far. */
  private readonly runs: number[];
  /** Milliseconds per unit of work, smoothed over the option's measured runs (NaN before its first). */
  private readonly ms: number[];
  /** Run number at which each option was last used. */
  private readonly lastUsed: number[];
  private run = 0;

  constructor(
    readonly options: number,
    private readonly probeEvery = 32,
  ) {
    this.runs = new Array<number>(options).fill(0);
    this.ms = new Array<number>(options).fill(NaN);
    this.lastUsed = new Array<number>(options).fill(-1);
  }

  /**
   * The option to use for the next run. Each option first runs twice: its first run is a warm-up (buffers
   * allocated, threads started) and is not counted. Then the fastest, except every probeEvery-th run, which
   * goes to the option used longest ago.
   */
  next(): number {
    const r = this.run++;
    let pick = this.runs.findIndex((n) => n < 2);
    if (pick < 0) {
      pick = this.best();
      if (this.options > 1 && r % this.probeEvery === 0) pick = this.lastUsed.indexOf(Math.min(...this.lastUsed));
    }
    this.lastUsed[pick] = r;
    return pick;
  }

  /** Reports that option i's run took `ms` per unit of work (ignored for its warm-up run). */
  record(i: number, ms: number): void {
    this.runs[i]!++;
    if (this.runs[i] === 1) return;
    const prev = this.ms[i]!;
    this.ms[i] = Number.isNaN(prev) ? ms : 0.5 * prev + 0.5 * ms;
  }

  /** The option with the least smoothed time so far (the first when none is measured). */
  best(): number {
    let b = -1;
    for (let i = 0; i < this.options; i++) if (!Number.isNaN(this.ms[i]!) && (b < 0 || this.ms[i]! < this.ms[b]!)) b = i;
    return Math.max(0, b);
  }

  /** Runs and smoothed milliseconds per unit of each option. */
  summary(): { runs: number; ms: number }[] {
    return this.runs.map((runs, i) => ({ runs, ms: this.ms[i]! }));
  }
}
