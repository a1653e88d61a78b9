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

  async start(input: EmbedInput): Promise<string | null> {
    this.starting = true;
    this.startError = null;
    try {
      const job = await client.call('embeddings.start', input);
      jobsStore.track(job, false);
      this.jobId = job.id;
      void this.refresh();
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
