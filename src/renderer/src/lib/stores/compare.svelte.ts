import type { CompareRow, MethodOutput, RunDetail } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';

export type Misclassified = MethodOutput<'runs.misclassified'>['items'][number];

/** The comparison of every run on one set: table rows, selected runs with their details, misclassified examples. */
class CompareStore {
  setId = $state<number | null>(null);
  rows = $state<CompareRow[]>([]);
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
      if ((j.kind === 'train' || j.kind === 'experiment') && this.setId !== null) void this.load(this.setId);
    });
  }

  get sorted(): CompareRow[] {
    const k = this.sortKey;
    const dir = this.sortDir === 'asc' ? 1 : -1;
    return [...this.rows].sort((a, b) => {
      const x = a[k] ?? null;
      const y = b[k] ?? null;
      if (x === y) return 0;
      if (x === null) return 1; // empty cells last either way
      if (y === null) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  }

  sort(key: string): void {
    if (this.sortKey === key) this.sortDir = this.sortDir === 'asc' ? 'desc' : 'asc';
    else {
      this.sortKey = key;
      this.sortDir = key === 'kind' || key === 'backend' || key === 'status' ? 'asc' : 'desc';
    }
  }

  async load(setId: number): Promise<void> {
    const fresh = this.setId !== setId;
    if (fresh) {
      this.setId = setId;
      this.rows = [];
      this.selected = [];
      this.details = {};
      this.mis = [];
      this.misTotal = 0;
      this.misOffset = 0;
      this.loaded = false;
    }
    try {
      const ok = this.guard();
      const rows = await client.call('runs.compare', { setId });
      if (!ok()) return;
      const known = new Set(this.rows.map((r) => Number(r.id)));
      this.rows = rows;
      this.error = null;
      // New finished runs join the selection; runs the user unselected stay unselected.
      const done = rows.filter((r) => r.status === 'done').map((r) => Number(r.id));
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
    if (this.setId === null) return;
    if (!this.selected.length) {
      this.mis = [];
      this.misTotal = 0;
      return;
    }
    this.misLoading = true;
    try {
      const ok = this.misGuard();
      const r = await client.call('runs.misclassified', { setId: this.setId, runIds: this.selected.slice(0, 20), offset, limit: this.misLimit });
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
