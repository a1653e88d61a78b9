import type { EventPayload, Job } from '../../../../shared/contract';
import { latestOnly } from '../latest';
import { client } from '../transport';

type Progress = EventPayload<'job.progress'>;
const FINAL: readonly Job['status'][] = ['done', 'failed', 'cancelled', 'interrupted'];

/** Jobs for the drawer: the list from the engine, kept live by job events. */
class JobsStore {
  jobs = $state<Job[]>([]);
  live = $state<Record<string, Progress>>({});
  error = $state<string | null>(null);
  open = $state(false);
  private listeners = new Set<(job: Job) => void>();
  private phaseListeners = new Set<(p: Progress) => void>();
  private guard = latestOnly();

  constructor() {
    client.on('job.progress', (p) => {
      const phaseChanged = this.live[p.jobId]?.phase !== p.phase;
      this.live[p.jobId] = p;
      const j = this.jobs.find((x) => x.id === p.jobId);
      if (j) {
        j.status = 'running';
        j.ahead = null;
        j.phase = p.phase;
        j.done = p.done;
        j.total = p.total;
      }
      // A new phase means the job wrote something others show (a dataset, a set, a run): lists follow.
      if (phaseChanged) for (const fn of [...this.phaseListeners]) fn(p);
    });
    client.on('job.queued', (p) => {
      const j = this.jobs.find((x) => x.id === p.jobId);
      if (j) j.ahead = p.ahead;
      else void this.refresh();
    });
    client.on('job.started', () => void this.refresh());
    client.on('job.finished', (p) => void this.settle(p.jobId));
    client.on('job.failed', (p) => void this.settle(p.jobId));
  }

  get active(): Job[] {
    return this.jobs.filter((j) => j.status === 'queued' || j.status === 'running');
  }

  /** Running or queued jobs of some kinds (a page shows the progress of its own kinds of work). */
  activeOf(...kinds: Job['kind'][]): Job[] {
    return this.active.filter((j) => kinds.includes(j.kind));
  }

  /** Running or queued jobs of some kinds, then the given recent jobs once they ended (so their outcome stays visible). */
  shown(kinds: Job['kind'][], recent: (string | null)[]): Job[] {
    const list = this.activeOf(...kinds);
    for (const id of recent) {
      const j = this.find(id);
      if (j && !list.includes(j)) list.push(j);
    }
    return list;
  }

  /** A job known to the drawer, by id. */
  find(id: string | null | undefined): Job | undefined {
    return id ? this.jobs.find((j) => j.id === id) : undefined;
  }

  /** Resolves with the job once it has reached a final status (done, failed, cancelled, interrupted). */
  waitFor(id: string): Promise<Job> {
    return new Promise((resolve) => {
      let settled = false;
      const off = this.onSettled((j) => {
        if (j.id === id && !settled) {
          settled = true;
          off();
          resolve(j);
        }
      });
      // It may have finished before we started listening.
      void client
        .call('jobs.get', { id })
        .then((j) => {
          if (!settled && FINAL.includes(j.status)) {
            settled = true;
            off();
            resolve(j);
          }
        })
        .catch(() => undefined);
    });
  }

  /** Calls `fn` when a running job enters a new phase (lists refresh without waiting for its end). */
  onPhase(fn: (p: Progress) => void): () => void {
    this.phaseListeners.add(fn);
    return () => this.phaseListeners.delete(fn);
  }

  /** Calls `fn` whenever a job reaches a final status (pages refresh their lists). */
  onSettled(fn: (job: Job) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async refresh(): Promise<void> {
    try {
      const ok = this.guard();
      const jobs = await client.call('jobs.list', { limit: 50 });
      if (!ok()) return;
      this.jobs = jobs;
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  private async settle(id: string): Promise<void> {
    // The listeners get the job as the engine has it now, not as a possibly older list had it.
    const [j] = await Promise.all([client.call('jobs.get', { id }).catch(() => undefined), this.refresh()]);
    if (j) for (const fn of [...this.listeners]) fn(j);
  }

  /**
   * Adds a job that a page started. The drawer opens so its progress is visible, unless the page shows the
   * progress itself (`open = false`): then the drawer would only hide the page.
   */
  track(job: Job, open = true): void {
    if (!this.jobs.some((j) => j.id === job.id)) this.jobs = [job, ...this.jobs];
    if (open) this.open = true;
  }

  async startSelftest(): Promise<void> {
    try {
      this.track(await client.call('selftest.start', { steps: 10, stepMs: 400 }));
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  async cancel(id: string): Promise<void> {
    try {
      await client.call('jobs.cancel', { id });
      await this.refresh();
    } catch (err) {
      this.error = (err as Error).message;
    }
  }
}

export const jobsStore = new JobsStore();
