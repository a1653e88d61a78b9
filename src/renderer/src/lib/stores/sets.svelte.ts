import type { EmbeddingSet, MethodInput } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';
import { selection } from './selection.svelte';

export type EmbedInput = MethodInput<'embeddings.start'>;

/** Embedding sets: the list, starting (and resuming) embedding jobs, delete. */
class SetsStore {
  list = $state<EmbeddingSet[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  startError = $state<string | null>(null);
  starting = $state(false);
  /** The embedding job started last from this window. */
  jobId = $state<string | null>(null);
  itemErrors = $state<Record<number, string>>({});
  private guard = latestOnly();

  constructor() {
    jobsStore.onSettled((j) => {
      if (j.kind === 'embed' || j.kind === 'experiment') void this.refresh();
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

  async refresh(): Promise<void> {
    try {
      const ok = this.guard();
      const list = await client.call('sets.list', {});
      if (!ok()) return;
      this.list = list;
      this.error = null;
    } catch (err) {
      this.error = errMsg(err);
    } finally {
      this.loaded = true;
    }
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
    delete this.itemErrors[s.id];
    const preset = s.preset === 'resize-224' ? 'resize-224' : 'dinov2-eval';
    try {
      const job = await client.call('embeddings.start', { datasetId: s.datasetId, backboneId: s.backboneId, preset });
      jobsStore.track(job, false);
      this.jobId = job.id;
      void this.refresh();
    } catch (err) {
      this.itemErrors[s.id] = errMsg(err);
    }
  }

  async remove(id: number): Promise<void> {
    try {
      await client.call('sets.delete', { id });
      delete this.itemErrors[id];
      if (selection.setId === id) selection.select(null);
      await this.refresh();
    } catch (err) {
      this.itemErrors[id] = errMsg(err);
    }
  }
}

export const setsStore = new SetsStore();
