import type { EmbeddingSet, MethodInput } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';
import { ListStore } from './list-store.svelte';
import { selection } from './selection.svelte';

export type EmbedInput = MethodInput<'embeddings.start'>;

/** Embedding sets: the list, starting (and resuming) embedding jobs, delete. */
class SetsStore extends ListStore<EmbeddingSet> {
  startError = $state<string | null>(null);
  starting = $state(false);
  /** The embedding job started last from this window. */
  jobId = $state<string | null>(null);

  constructor() {
    super();
    jobsStore.onSettled((j) => {
      if (j.kind === 'embed' || j.kind === 'experiment') void this.refresh();
    });
    jobsStore.onPhase((p) => {
      if (p.kind === 'embed' || p.kind === 'experiment') void this.refresh();
    });
  }

  get done(): EmbeddingSet[] {
    return this.list.filter((s) => s.status === 'done');
  }

  byId(id: number | null): EmbeddingSet | undefined {
    return id === null ? undefined : this.list.find((s) => s.id === id);
  }

  /** The selected set if it is usable, else the newest finished one (and remember that choice). */
  current(): EmbeddingSet | undefined {
    const s = this.byId(selection.setId);
    if (s && s.status === 'done') return s;
    return this.done[0];
  }

  refresh(): Promise<void> {
    return this.fetchList(() => client.call('sets.list', {}));
  }

  /** The embedding job started from this window for each set (its Start/Resume button hides while it is active). */
  jobBySet = $state<Record<number, string>>({});

  /** Whether this window started an embedding job for the set that is still queued or running. */
  hasActiveJob(setId: number): boolean {
    const id = this.jobBySet[setId];
    return !!id && jobsStore.active.some((j) => j.id === id);
  }

  private async remember(job: { id: string }, key: { datasetId: number; backboneId: number; preset: string }): Promise<void> {
    await this.refresh();
    const s = this.list.find((x) => x.datasetId === key.datasetId && x.backboneId === key.backboneId && x.preset === key.preset);
    if (s) this.jobBySet[s.id] = job.id;
  }

  async start(input: EmbedInput): Promise<string | null> {
    this.starting = true;
    this.startError = null;
    try {
      const job = await client.call('embeddings.start', input);
      jobsStore.track(job, false);
      this.jobId = job.id;
      void this.remember(job, { datasetId: input.datasetId, backboneId: input.backboneId, preset: input.preset ?? 'dinov2-eval' });
      return job.id;
    } catch (err) {
      this.startError = errMsg(err);
      return null;
    } finally {
      this.starting = false;
    }
  }

  /** Starts the same dataset/backbone/preset again: the engine continues where the set stopped. */
  async resume(s: EmbeddingSet): Promise<void> {
    const preset = s.preset === 'resize-224' ? 'resize-224' : 'dinov2-eval';
    await this.itemAction(s.id, async () => {
      const job = await client.call('embeddings.start', { datasetId: s.datasetId, backboneId: s.backboneId, preset });
      jobsStore.track(job, false);
      this.jobId = job.id;
      this.jobBySet[s.id] = job.id;
      void this.refresh();
    });
  }

  async remove(id: number): Promise<void> {
    if (!(await this.itemAction(id, () => client.call('sets.delete', { id })))) return;
    if (selection.setId === id) selection.select(null);
    await this.refresh();
  }
}

export const setsStore = new SetsStore();
