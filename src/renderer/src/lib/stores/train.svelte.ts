import type { ClassifierKind, Run } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';

/** One epoch's logs (loss, accuracy, val_loss, val_accuracy, ...). */
export type EpochLog = Record<string, number | undefined>;

/** Training: runs of one set, starting and cancelling them, and their epoch logs as they arrive. */
class TrainStore {
  setId = $state<number | null>(null);
  runs = $state<Run[]>([]);
  error = $state<string | null>(null);
  epochs = $state<Record<number, EpochLog[]>>({});
  startErrors = $state<Partial<Record<ClassifierKind, string>>>({});
  starting = $state<Partial<Record<ClassifierKind, boolean>>>({});
  /** The run whose curves are shown. */
  focus = $state<number | null>(null);
  runErrors = $state<Record<number, string>>({});
  /** Test and validation accuracy of each run of the set (from runs.compare), by run id. */
  scores = $state<Record<number, { test: number | null; val: number | null; selectedOnTest: boolean }>>({});
  /** "Train every kind": queueing, or what went wrong. */
  queueingAll = $state(false);
  allError = $state<string | null>(null);
  /** Ticks every second while something trains, for elapsed times. */
  now = $state(Date.now());
  private timer: ReturnType<typeof setInterval> | null = null;
  private guard = latestOnly();

  constructor() {
    client.on('training.epoch', (p) => {
      const list = (this.epochs[p.runId] ??= []);
      const log: EpochLog = { ...p.logs, epoch: p.epoch };
      // Epochs arrive in order: append without scanning the list (O(1) per epoch on long runs).
      const lastEpoch = list.length ? list[list.length - 1]!.epoch : undefined;
      const at = lastEpoch === undefined || lastEpoch < p.epoch ? -1 : list.findIndex((e) => e.epoch === p.epoch);
      if (at >= 0) list[at] = log;
      else list.push(log);
      // A run with a logged epoch is training, whatever an older list said.
      const run = this.runs.find((r) => r.id === p.runId);
      if (!run) void this.refresh();
      else if (run.status === 'queued') run.status = 'running';
      if (!this.focusIsRunning()) this.focus = p.runId;
    });
    client.on('job.started', (p) => {
      if (p.kind === 'train') void this.refresh();
    });
    // The job process marks its run 'running' and then reports its first phase: the list follows at once,
    // and the live panel moves to the run that trains (not the last one queued).
    jobsStore.onPhase((p) => {
      if (p.kind !== 'train' && p.kind !== 'experiment') return;
      void this.refresh().then(() => {
        if (this.focusIsRunning()) return;
        const running = this.runs.find((r) => r.job_id === p.jobId && r.status === 'running') ?? this.runs.find((r) => r.status === 'running');
        if (running) this.focus = running.id;
      });
    });
    jobsStore.onSettled((j) => {
      if (j.kind === 'train' || j.kind === 'experiment') void this.refresh();
    });
  }

  private focusIsRunning(): boolean {
    return this.runs.find((r) => r.id === this.focus)?.status === 'running';
  }

  get active(): Run[] {
    return this.runs.filter((r) => r.status === 'queued' || r.status === 'running');
  }

  async load(setId: number): Promise<void> {
    if (this.setId !== setId) {
      this.setId = setId;
      this.runs = [];
      this.focus = null;
    }
    await this.refresh();
    if (this.focus === null && this.runs.length) this.show(this.runs[0]!.id);
  }

  async refresh(): Promise<void> {
    if (this.setId === null) return;
    try {
      const ok = this.guard();
      const [runs, rows] = await Promise.all([client.call('runs.list', { setId: this.setId }), client.call('runs.compare', { setId: this.setId })]);
      if (!ok()) return;
      this.runs = runs;
      const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
      this.scores = Object.fromEntries(rows.map((r) => [Number(r.id), { test: num(r.test_accuracy), val: num(r.val_accuracy), selectedOnTest: r.selected_on_test === 1 }]));
      this.error = null;
    } catch (err) {
      this.error = errMsg(err);
    }
    this.tick();
  }

  private tick(): void {
    if (this.active.length && !this.timer) {
      this.timer = setInterval(() => {
        this.now = Date.now();
        if (!this.active.length && this.timer) {
          clearInterval(this.timer);
          this.timer = null;
        }
      }, 1000);
    }
  }

  async start(kind: ClassifierKind, params: Record<string, unknown>, seed: number): Promise<boolean> {
    if (this.setId === null) return false;
    this.starting[kind] = true;
    delete this.startErrors[kind];
    try {
      const job = await client.call('runs.start', { setId: this.setId, kind, params, seed });
      jobsStore.track(job, false);
      await this.refresh();
      // The live panel keeps showing a run that trains; a queued run is shown only when none does.
      const run = this.runs.find((r) => r.job_id === job.id);
      if (run && !this.focusIsRunning()) this.focus = run.id;
      return true;
    } catch (err) {
      this.startErrors[kind] = errMsg(err);
      return false;
    } finally {
      this.starting[kind] = false;
    }
  }

  /** Queues one run of every kind on the set, each with its defaults (the study's recipe) and seed 0. */
  async startAll(kinds: ClassifierKind[]): Promise<void> {
    if (this.setId === null) return;
    this.queueingAll = true;
    this.allError = null;
    try {
      for (const kind of kinds) jobsStore.track(await client.call('runs.start', { setId: this.setId, kind, params: {}, seed: 0 }), false);
    } catch (err) {
      this.allError = errMsg(err);
    } finally {
      this.queueingAll = false;
      await this.refresh();
    }
  }

  /** Renames a run or edits its notes (kept in the database). */
  async annotate(run: Run, t: { name?: string; notes?: string }): Promise<void> {
    try {
      await client.call('runs.update', { id: run.id, ...t });
      delete this.runErrors[run.id];
      await this.refresh();
    } catch (err) {
      this.runErrors[run.id] = errMsg(err);
    }
  }

  async cancel(run: Run): Promise<void> {
    if (!run.job_id) return;
    try {
      await client.call('jobs.cancel', { id: run.job_id });
      delete this.runErrors[run.id];
      await this.refresh();
    } catch (err) {
      this.runErrors[run.id] = errMsg(err);
    }
  }

  async remove(run: Run): Promise<void> {
    try {
      await client.call('runs.delete', { id: run.id });
      if (this.focus === run.id) this.focus = null;
      await this.refresh();
    } catch (err) {
      this.runErrors[run.id] = errMsg(err);
    }
  }

  /** Shows a run's curves, loading its stored epochs when they did not arrive live. */
  async show(runId: number): Promise<void> {
    this.focus = runId;
    const r = this.runs.find((x) => x.id === runId);
    if (this.epochs[runId]?.length && r?.status !== 'done') return;
    try {
      const d = await client.call('runs.get', { id: runId });
      if (d.epochs.length || !this.epochs[runId]) this.epochs[runId] = d.epochs;
    } catch (err) {
      this.runErrors[runId] = errMsg(err);
    }
  }
}

export const trainStore = new TrainStore();
