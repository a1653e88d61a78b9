import type { MethodOutput, RunDetail, Study, StudyMetric } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';

export type Misclassified = MethodOutput<'runs.misclassified'>['items'][number];

/**
 * The comparison of every run on every embedding set of one dataset: the study (matrix and runs with
 * provenance), the selected runs with their details, misclassified examples of the selection.
 */
class CompareStore {
  datasetId = $state<number | null>(null);
  study = $state<Study | null>(null);
  metric = $state<StudyMetric>('accuracy');
  includeSweeps = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  selected = $state<number[]>([]);
  details = $state<Record<number, RunDetail>>({});
  detailError = $state<string | null>(null);
  sortKey = $state('test_accuracy');
  sortDir = $state<'asc' | 'desc'>('desc');
  mis = $state<Misclassified[]>([]);
  misTotal = $state(0);
  misOffset = $state(0);
  readonly misLimit = 24;
  misError = $state<string | null>(null);
  misLoading = $state(false);
  private guard = latestOnly();
  private misGuard = latestOnly();

  constructor() {
    jobsStore.onSettled((j) => {
      if ((j.kind === 'train' || j.kind === 'experiment') && this.datasetId !== null) void this.load(this.datasetId);
    });
  }

  sort(key: string): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 'asc' ? 'desc' : 'asc';
    else {
      this.sortKey = key;
      this.sortDir = key === 'kind' || key === 'backend' || key === 'status' || key === 'set' || key === 'name' ? 'asc' : 'desc';
    }
  }

  setMetric(m: StudyMetric): void {
    this.metric = m;
    if (this.datasetId !== null) void this.load(this.datasetId);
  }

  setIncludeSweeps(v: boolean): void {
    this.includeSweeps = v;
    if (this.datasetId !== null) void this.load(this.datasetId);
  }

  async load(datasetId: number): Promise<void> {
    const fresh = this.datasetId !== datasetId;
    if (fresh) {
      this.datasetId = datasetId;
      this.study = null;
      this.selected = [];
      this.details = {};
      this.mis = [];
      this.misTotal = 0;
      this.misOffset = 0;
      this.loaded = false;
    }
    try {
      const ok = this.guard();
      const known = new Set((this.study?.runs ?? []).map((r) => r.id));
      const st = await client.call('runs.study', { datasetId, metric: this.metric, includeSweeps: this.includeSweeps });
      if (!ok()) return;
      this.study = st;
      this.error = null;
      // New finished runs join the selection; runs the user unselected stay unselected.
      const done = st.runs.filter((r) => r.status === 'done').map((r) => r.id);
      const added = done.filter((id) => !known.has(id) || fresh);
      this.selected = [...new Set([...this.selected.filter((id) => done.includes(id)), ...added])];
      await this.loadDetails();
      await this.loadMis(0);
    } catch (err) {
      this.error = errMsg(err);
    } finally {
      this.loaded = true;
    }
  }

  toggle(id: number): void {
    this.selected = this.selected.includes(id) ? this.selected.filter((x) => x !== id) : [...this.selected, id];
    void this.loadDetails();
    void this.loadMis(0);
  }

  /** Selects exactly these runs (e.g. the runs of one matrix column or row). */
  selectOnly(ids: number[]): void {
    this.selected = [...ids];
    void this.loadDetails();
    void this.loadMis(0);
  }

  async rename(id: number, name: string | null, notes?: string | null): Promise<void> {
    try {
      await client.call('runs.update', notes === undefined ? { id, name } : { id, name, notes });
      if (this.datasetId !== null) await this.load(this.datasetId);
    } catch (err) {
      this.error = errMsg(err);
    }
  }

  private async loadDetails(): Promise<void> {
    try {
      for (const id of this.selected) {
        const known = this.details[id];
        if (!known || known.status !== 'done') this.details[id] = await client.call('runs.get', { id });
      }
      this.detailError = null;
    } catch (err) {
      this.detailError = errMsg(err);
    }
  }

  async loadMis(offset: number): Promise<void> {
    const runs = this.selected.slice(0, 20);
    const first = this.study?.runs.find((r) => r.id === runs[0]);
    if (!first) {
      this.mis = [];
      this.misTotal = 0;
      return;
    }
    this.misLoading = true;
    try {
      const ok = this.misGuard();
      // Runs on any set of the dataset share its test images.
      const r = await client.call('runs.misclassified', { setId: first.set_id, runIds: runs, offset, limit: this.misLimit });
      if (!ok()) return;
      this.mis = r.items;
      this.misTotal = r.total;
      this.misOffset = offset;
      this.misError = null;
    } catch (err) {
      this.misError = errMsg(err);
    } finally {
      this.misLoading = false;
    }
  }
}

export const compareStore = new CompareStore();
