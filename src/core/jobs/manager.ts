/**
 * The host side of jobs: persists each job in `jobs`, runs queued jobs (one compute job beside one light
 * job, never two on the same dataset: see schedule.ts) each in a child process
 * (onnxruntime's run() and training block their event loop, so they never run in the host), turns the
 * child's messages into events, and cancels (politely, then SIGKILL after a grace period).
 */
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { formatZodError, jobFinished, job as jobSchema, isJobOf, type Job, type JobOf, type LabEvent } from '../../shared/contract';
import { nowIso, type Db } from '../db/database';
import { LabError } from '../errors';
import type { FromJob, ToJob } from './protocol';
import { aheadOf, startable, type Slot } from './schedule';
import type { JobDef, JobKind, JobRegistry } from './types';

interface JobRow {
  id: string;
  kind: JobKind;
  params: string;
  status: Job['status'];
  phase: string;
  done: number;
  total: number;
  error: string | null;
  result: string | null;
  pid: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface Running {
  slot: Slot;
  child: ChildProcess;
  killTimer?: NodeJS.Timeout;
  cancelRequested: boolean;
  phaseStart: { phase: string; t: number; done: number };
  settled: boolean;
}

export interface JobManagerOptions {
  db: Db;
  dbPath: string;
  dataDir: string;
  emit: (ev: LabEvent) => void;
  /** Every job kind's declaration (core/job-kinds.ts). */
  kinds: JobRegistry;
  /** The job process's entry (core/job-process.ts, or its bundle), found by entry.ts's resolveEntry. */
  runner: { file: string; execArgv: string[] };
  /** Seconds between a cancel and the SIGKILL of a job process that does not stop. */
  cancelGraceMs?: number;
}

const HEARTBEAT_MS = 2000;
/** A heartbeat older than this means the owning host is gone (or frozen for longer than any job step should take). */
const HEARTBEAT_STALE_MS = 15_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as { code?: string }).code === 'EPERM';
  }
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A stored job's params parsed with its kind's schema; null when they don't fit (a row from another version). */
function paramsOf(def: JobDef | undefined, r: JobRow): { ok: true; value: unknown } | { ok: false } {
  if (!def) return { ok: false };
  const p = def.params.safeParse(parseJson(r.params));
  return p.success ? { ok: true, value: p.data } : { ok: false };
}

export class JobManager {
  private readonly running = new Map<string, Running>();
  /** Queued jobs of this host, in order, with their class and locks. */
  private readonly queue: Slot[] = [];
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly opts: JobManagerOptions) {}

  /** A row as the contract's Job: the label from its kind, the result checked against its kind's schema. */
  private toJob(r: JobRow): Job {
    const def = this.opts.kinds[r.kind];
    const params = paramsOf(def, r);
    const base = {
      id: r.id,
      kind: r.kind,
      label: params.ok ? def.label(params.value) : r.kind,
      status: r.status,
      phase: r.phase,
      done: r.done,
      total: r.total,
      error: r.error,
      createdAt: r.created_at,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      ahead: r.status === 'queued' ? (this.ahead().get(r.id) ?? null) : null,
    };
    const typed = jobSchema.safeParse({ ...base, result: parseJson(r.result) });
    // A result that no longer fits its kind's schema (written by another version) is shown as none.
    return typed.success ? typed.data : jobSchema.parse({ ...base, result: null });
  }

  /**
   * Marks jobs whose host died as interrupted, and lets each kind clean up. A job whose host is still
   * alive (another DINO Lab on the same database: the app while the CLI runs) is left alone: its host
   * process exists and its heartbeat is fresh.
   */
  recover(): number {
    const rows = this.opts.db.prepare(`SELECT * FROM jobs WHERE status IN ('queued','running')`).all() as (JobRow & {
      owner_pid: number | null;
      heartbeat_at: number | null;
    })[];
    let n = 0;
    for (const r of rows) {
      const fresh = r.heartbeat_at !== null && Date.now() - r.heartbeat_at < HEARTBEAT_STALE_MS;
      if (r.owner_pid !== null && fresh && pidAlive(r.owner_pid)) continue;
      // A job process whose host died exits on its own ('disconnect'); its pid may since belong to
      // another program, so it is never signalled from here.
      this.interrupt(r, 'DINO Lab stopped while this job ran; start it again to resume.');
      n++;
    }
    return n;
  }

  start<K extends JobKind>(kind: K, params: unknown): JobOf<K> {
    if (this.closed) throw new LabError('busy', 'The engine is shutting down.');
    const def = this.opts.kinds[kind];
    // The host built these from a call the contract validated; this parse only fills the kind's defaults
    // and keeps a mistake in a host from storing a job that its process would refuse.
    const parsed = def.params.safeParse(params);
    if (!parsed.success) throw new LabError('internal', `Invalid params for a ${kind} job: ${formatZodError(parsed.error)}`);
    const key = def.exclusiveKey?.(parsed.data) ?? null;
    if (key) {
      const active = this.opts.db
        .prepare(`SELECT * FROM jobs WHERE status IN ('queued','running') AND kind = ?`)
        .all(kind) as JobRow[];
      for (const a of active) {
        const p = paramsOf(def, a);
        if (p.ok && def.exclusiveKey?.(p.value) === key) {
          throw new LabError('busy', `Another job (${a.id.slice(0, 8)}) is already working on this; wait for it or cancel it.`);
        }
      }
    }
    const id = crypto.randomUUID();
    this.opts.db
      .prepare(`INSERT INTO jobs (id, kind, params, status, created_at, owner_pid, heartbeat_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)`)
      .run(id, kind, JSON.stringify(parsed.data), nowIso(), process.pid, Date.now());
    this.startHeartbeat();
    let locks: string[];
    try {
      locks = def.locks?.(parsed.data, this.opts.db) ?? [];
    } catch {
      locks = ['dataset:*'];
    }
    this.queue.push({ id, resource: def.resource, locks });
    this.pump();
    const ahead = this.ahead().get(id);
    if (ahead !== undefined) this.opts.emit({ name: 'job.queued', payload: { jobId: id, kind, ahead } });
    const job = this.get(id);
    if (!isJobOf(job, kind)) throw new LabError('internal', `Job ${id} was stored as ${job.kind}, not ${kind}.`);
    return job;
  }

  list(limit = 100): Job[] {
    return (this.opts.db.prepare(`SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?`).all(limit) as JobRow[]).map((r) => this.toJob(r));
  }

  get(id: string): Job {
    const r = this.opts.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    if (!r) throw new LabError('not_found', `No job ${id}.`);
    return this.toJob(r);
  }

  /** Resolves when the job reaches a final status. */
  wait(id: string, pollMs = 100): Promise<Job> {
    return new Promise((resolve) => {
      const tick = (): void => {
        const j = this.get(id);
        if (!['queued', 'running'].includes(j.status)) resolve(j);
        else setTimeout(tick, pollMs);
      };
      tick();
    });
  }

  cancel(id: string): Job {
    const job = this.get(id);
    if (job.status === 'queued') {
      const i = this.queue.findIndex((q) => q.id === id);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(id, 'cancelled', null, 'Cancelled before it started.');
      return this.get(id);
    }
    const run = this.running.get(id);
    if (job.status !== 'running' || !run) return job;
    run.cancelRequested = true;
    this.send(run.child, { type: 'cancel' });
    run.killTimer = setTimeout(() => {
      if (!run.settled) run.child.kill('SIGKILL');
    }, this.opts.cancelGraceMs ?? 5000);
    return this.get(id);
  }

  /** Whether this host runs or queues any job (a whole-file rewrite such as VACUUM waits for none). */
  busy(): boolean {
    return this.running.size > 0 || this.queue.length > 0;
  }

  /** The pid of a running job's process (tests kill it). */
  pidOf(id: string): number | null {
    return this.running.get(id)?.child.pid ?? null;
  }

  /** While this host has queued or running jobs, it says so every few seconds (see recover()). */
  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      try {
        const r = this.opts.db
          .prepare(`UPDATE jobs SET heartbeat_at = ? WHERE owner_pid = ? AND status IN ('queued','running')`)
          .run(Date.now(), process.pid);
        if (r.changes === 0 && !this.running.size && !this.queue.length) this.stopHeartbeat();
      } catch {
        /* the database is closing */
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopHeartbeat();
    for (const { id } of this.queue.splice(0)) this.finish(id, 'cancelled', null, 'DINO Lab closed before it started.');
    const waits: Promise<void>[] = [];
    for (const [, run] of this.running) {
      waits.push(new Promise((r) => run.child.once('exit', () => r())));
      this.send(run.child, { type: 'cancel' });
      setTimeout(() => run.child.kill('SIGKILL'), 3000).unref();
    }
    await Promise.all(waits);
  }

  /** How many jobs of its class run or wait before each queued job. */
  private ahead(): Map<string, number> {
    return aheadOf(this.queue, [...this.running.values()].map((r) => r.slot));
  }

  private pump(): void {
    if (this.closed) return;
    const ids = startable(this.queue, [...this.running.values()].map((r) => r.slot));
    for (const id of ids) {
      const i = this.queue.findIndex((q) => q.id === id);
      const [slot] = this.queue.splice(i, 1);
      this.launch(slot!);
    }
    // Jobs still waiting moved up: their drawers' "queued (n ahead)" follows.
    if (ids.length) for (const q of this.queue) this.opts.emit({ name: 'job.queued', payload: { jobId: q.id, kind: this.get(q.id).kind, ahead: this.ahead().get(q.id) ?? 0 } });
  }

  private launch(slot: Slot): void {
    const id = slot.id;
    const row = this.opts.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow;
    const { file, execArgv } = this.opts.runner;
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
    const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const run: Running = { slot, child, cancelRequested: false, phaseStart: { phase: '', t: Date.now(), done: 0 }, settled: false };
    this.running.set(id, run);
    this.opts.db
      .prepare(`UPDATE jobs SET status = 'running', started_at = ?, pid = ? WHERE id = ?`)
      .run(nowIso(), child.pid ?? null, id);
    this.opts.emit({ name: 'job.started', payload: { jobId: id, kind: row.kind } });

    child.on('message', (m: FromJob) => this.onMessage(id, row.kind, run, m));
    child.on('error', (err) => {
      if (run.settled) return;
      run.settled = true;
      this.finish(id, 'failed', null, `The job process could not start: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      if (run.killTimer) clearTimeout(run.killTimer);
      this.running.delete(id);
      if (!run.settled) {
        run.settled = true;
        if (run.cancelRequested) {
          this.cleanupInterrupted(id, 'Cancelled (the job process was stopped).');
          this.finish(id, 'cancelled', null, 'Cancelled.');
        } else {
          const reason = `The job process ended unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); start it again to resume.`;
          const r = this.opts.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow;
          this.interrupt(r, reason);
        }
      }
      this.pump();
    });
    const params = JSON.parse(row.params) as unknown;
    this.send(child, { type: 'run', jobId: id, kind: row.kind, params, dbPath: this.opts.dbPath, dataDir: this.opts.dataDir });
  }

  private onMessage(id: string, kind: JobKind, run: Running, m: FromJob): void {
    if (run.settled) return;
    switch (m.type) {
      case 'progress': {
        const now = Date.now();
        if (run.phaseStart.phase !== m.phase) run.phaseStart = { phase: m.phase, t: now, done: m.done };
        const dt = (now - run.phaseStart.t) / 1000;
        const rate = m.ratePerSec ?? (dt > 0.2 ? (m.done - run.phaseStart.done) / dt : null);
        // No ETA before there is a rate (nothing done yet): never "ETA 0 ms" at a job's start.
        const eta = rate && rate > 0 && m.done > 0 ? (m.etaSec ?? (m.total - m.done) / rate) : null;
        this.opts.db.prepare(`UPDATE jobs SET phase = ?, done = ?, total = ? WHERE id = ?`).run(m.phase, m.done, m.total, id);
        this.opts.emit({ name: 'job.progress', payload: { jobId: id, kind, phase: m.phase, done: m.done, total: m.total, ratePerSec: rate, etaSec: eta } });
        break;
      }
      case 'epoch':
        this.opts.emit({ name: 'training.epoch', payload: { runId: m.runId, epoch: m.epoch, logs: m.logs } });
        break;
      case 'done':
        run.settled = true;
        this.finish(id, 'done', m.result, null);
        break;
      case 'failed':
        run.settled = true;
        this.finish(id, 'failed', null, m.message);
        break;
      case 'cancelled':
        run.settled = true;
        this.finish(id, 'cancelled', null, 'Cancelled.');
        break;
    }
  }

  private interrupt(r: JobRow, reason: string): void {
    this.cleanupInterrupted(r.id, reason);
    this.finish(r.id, 'interrupted', null, reason);
  }

  private cleanupInterrupted(id: string, reason: string): void {
    const r = this.opts.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow;
    try {
      const def = this.opts.kinds[r.kind];
      const params = paramsOf(def, r);
      if (params.ok) def.onInterrupted?.(this.opts.db, this.toJob(r), params.value, reason);
    } catch {
      /* cleanup is best effort: the job row still records what happened */
    }
  }

  private finish(id: string, status: Job['status'], result: unknown, error: string | null): void {
    this.opts.db
      .prepare(`UPDATE jobs SET status = ?, result = ?, error = ?, finished_at = ?, pid = NULL WHERE id = ?`)
      .run(status, result === null || result === undefined ? null : JSON.stringify(result), error, nowIso(), id);
    const job = this.get(id);
    if (status === 'done') this.opts.emit({ name: 'job.finished', payload: jobFinished.parse({ jobId: id, kind: job.kind, result: job.result }) });
    else this.opts.emit({ name: 'job.failed', payload: { jobId: id, kind: job.kind, status, error: error ?? status } });
  }

  private send(child: ChildProcess, msg: ToJob): void {
    if (child.connected) child.send(msg);
  }
}
