import type { MethodOutput, SampleItem } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { client } from '../transport';

/** The sample browser: one page of thumbnails of one dataset, filtered by split and class. */
class SamplesStore {
  datasetId = $state<number | null>(null);
  split = $state<'train' | 'test' | ''>('');
  label = $state<number | null>(null);
  page = $state(0);
  readonly pageSize = 48;
  total = $state(0);
  items = $state<SampleItem[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  private seq = 0;
  /** The sample opened from the grid (larger image, facts, neighbours), and its error. */
  detail = $state<MethodOutput<'samples.get'> | null>(null);
  detailError = $state<string | null>(null);
  detailLoading = $state(false);
  private detailSeq = 0;

  async show(sampleId: number): Promise<void> {
    const seq = ++this.detailSeq;
    this.detailLoading = true;
    this.detailError = null;
    try {
      const d = await client.call('samples.get', { sampleId });
      if (seq === this.detailSeq) this.detail = d;
    } catch (err) {
      if (seq === this.detailSeq) this.detailError = errMsg(err);
    } finally {
      if (seq === this.detailSeq) this.detailLoading = false;
    }
  }

  hide(): void {
    this.detailSeq++;
    this.detail = null;
    this.detailError = null;
    this.detailLoading = false;
  }

  get pages(): number {
    return Math.max(1, Math.ceil(this.total / this.pageSize));
  }

  open(datasetId: number): void {
    if (this.datasetId !== datasetId) {
      this.datasetId = datasetId;
      this.split = '';
      this.label = null;
      this.page = 0;
    }
    void this.load();
  }

  close(): void {
    this.hide();
    this.datasetId = null;
    this.items = [];
  }

  setFilter(split: 'train' | 'test' | '', label: number | null): void {
    this.split = split;
    this.label = label;
    this.page = 0;
    void this.load();
  }

  go(page: number): void {
    this.page = Math.min(Math.max(0, page), this.pages - 1);
    void this.load();
  }

  async load(): Promise<void> {
    if (this.datasetId === null) return;
    const seq = ++this.seq;
    this.loading = true;
    try {
      const r = await client.call('samples.list', {
        datasetId: this.datasetId,
        offset: this.page * this.pageSize,
        limit: this.pageSize,
        ...(this.split ? { split: this.split } : {}),
        ...(this.label !== null ? { label: this.label } : {}),
      });
      if (seq !== this.seq) return; // a newer request won
      this.items = r.items;
      this.total = r.total;
      this.error = null;
    } catch (err) {
      if (seq === this.seq) this.error = errMsg(err);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

export const samplesStore = new SamplesStore();
