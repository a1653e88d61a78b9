import type { EventPayload, Job } from '../../../../shared/contract';
import { client } from '../transport';

type Progress = EventPayload<'job.progress'>;

/** Jobs for the drawer: the list from the engine, kept live by job events. */
class JobsStore {
  jobs = $state<Job[]>([]);
  live = $state<Record<string, Progress>>({});
  error = $state<string | null>(null);
  open = $state(false);
  private listeners = new Set<(job: Job) => void>();

  constructor() {
    client.on('job.progress', (p) => {
      this.live[p.jobId] = p;
      const j = this.jobs.find((x) => x.id === p.jobId);
      if (j) {
        j.status = 'running';
        j.phase = p.phase;
        j.done = p.done;
        j.total = p.total;
      }
    });
    client.on('job.started', () => void this.refresh());
    client.on('job.finished', (p) => void this.settle(p.jobId));
    client.on('job.failed', (p) => void this.settle(p.jobId));
  }

  get active(): Job[] {
    return this.jobs.filter((j) => j.status === 'queued' || j.status === 'running');
  }

  /** Calls `fn` whenever a job reaches a final status (pages refresh their lists). */
  onSettled(fn: (job: Job) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async refresh(): Promise<void> {
    try {
      this.jobs = await client.call('jobs.list', { limit: 50 });
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  private async settle(id: string): Promise<void> {
    await this.refresh();
    const j = this.jobs.find((x) => x.id === id);
    if (j) for (const fn of this.listeners) fn(j);
  }

  /** Adds a job that a page started, and opens the drawer so its progress is visible. */
  track(job: Job): void {
    if (!this.jobs.some((j) => j.id === job.id)) this.jobs = [job, ...this.jobs];
    this.open = true;
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
