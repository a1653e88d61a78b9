import type { MethodOutput } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';

export type MapData = NonNullable<MethodOutput<'map.get'>>;

/** The embedding map of one set: its latest UMAP, the job that computes one, thumbnails on hover, a run's errors. */
class MapStore {
  setId = $state<number | null>(null);
  data = $state<MapData | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);
  startError = $state<string | null>(null);
  jobId = $state<string | null>(null);
  /** Test samples a chosen run got wrong (highlighted on the map). */
  highlightRun = $state<number | null>(null);
  highlighted = $state<Set<number>>(new Set());
  highlightError = $state<string | null>(null);
  private thumbs = new Map<number, Promise<string>>();
  private guard = latestOnly();

  constructor() {
    jobsStore.onSettled((j) => {
      if (j.kind === 'map' && this.setId !== null) void this.load(this.setId);
    });
  }

  async load(setId: number): Promise<void> {
    if (this.setId !== setId) {
      this.data = null;
      this.highlightRun = null;
      this.highlighted = new Set();
    }
    this.setId = setId;
    this.loading = true;
    try {
      const ok = this.guard();
      const d = await client.call('map.get', { setId });
      if (!ok()) return;
      this.data = d;
      this.error = null;
    } catch (err) {
      this.error = errMsg(err);
    } finally {
      this.loading = false;
    }
  }

  async compute(setId: number, n: number): Promise<string | null> {
    this.startError = null;
    try {
      const job = await client.call('map.start', { setId, n });
      jobsStore.track(job, false);
      this.jobId = job.id;
      return job.id;
    } catch (err) {
      this.startError = errMsg(err);
      return null;
    }
  }

  thumb(sampleId: number): Promise<string> {
    let p = this.thumbs.get(sampleId);
    if (!p) {
      p = client.call('samples.thumb', { sampleId }).then((r) => r.thumb);
      p.catch(() => this.thumbs.delete(sampleId));
      this.thumbs.set(sampleId, p);
    }
    return p;
  }

  /** Loads every test sample the run got wrong (paged through runs.misclassified). */
  async highlight(setId: number, runId: number | null): Promise<void> {
    this.highlightRun = runId;
    this.highlightError = null;
    if (runId === null) {
      this.highlighted = new Set();
      return;
    }
    try {
      const ids: number[] = [];
      for (let offset = 0; ; offset += 200) {
        const r = await client.call('runs.misclassified', { setId, runIds: [runId], offset, limit: 200 });
        for (const it of r.items) ids.push(it.sampleId);
        if (offset + 200 >= r.total || r.items.length === 0) break;
      }
      if (this.highlightRun === runId) this.highlighted = new Set(ids);
    } catch (err) {
      this.highlightError = errMsg(err);
    }
  }
}

export const mapStore = new MapStore();
