import type { Backbone, MethodOutput } from '../../../../shared/contract';
import { errDetail, errMsg } from '../errors';
import { latestOnly } from '../latest';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';

export type CatalogEntry = MethodOutput<'backbones.catalog'>[number];
export type CatalogModel = CatalogEntry['id'];

/** Backbones: the registry, the DINOv2 catalogue, add, download, delete. */
class BackbonesStore {
  list = $state<Backbone[]>([]);
  catalog = $state<CatalogEntry[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  addError = $state<string | null>(null);
  /** The technical detail behind addError (onnxruntime's message), shown on demand. */
  addErrorDetail = $state<string | null>(null);
  adding = $state(false);
  /** Download errors per `model/precision`. */
  downloadErrors = $state<Record<string, string>>({});
  itemErrors = $state<Record<number, string>>({});
  jobId = $state<string | null>(null);
  private guard = latestOnly();

  constructor() {
    jobsStore.onSettled((j) => {
      if (j.kind === 'backbone-download' || j.kind === 'experiment') void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      const ok = this.guard();
      const [list, catalog] = await Promise.all([client.call('backbones.list', {}), client.call('backbones.catalog', {})]);
      if (!ok()) return;
      this.list = list;
      this.catalog = catalog;
      this.error = null;
    } catch (err) {
      this.error = errMsg(err);
    } finally {
      this.loaded = true;
    }
  }

  byId(id: number): Backbone | undefined {
    return this.list.find((b) => b.id === id);
  }

  async add(file: string, name: string): Promise<boolean> {
    this.adding = true;
    this.addError = null;
    this.addErrorDetail = null;
    try {
      await client.call('backbones.add', { file: file.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
      await this.refresh();
      return true;
    } catch (err) {
      this.addError = errMsg(err);
      this.addErrorDetail = errDetail(err);
      return false;
    } finally {
      this.adding = false;
    }
  }

  async download(model: CatalogModel, precision: 'float32' | 'float16'): Promise<string | null> {
    const key = `${model}/${precision}`;
    delete this.downloadErrors[key];
    try {
      const job = await client.call('backbones.download', { model, precision });
      jobsStore.track(job, false);
      this.jobId = job.id;
      return job.id;
    } catch (err) {
      this.downloadErrors[key] = errMsg(err);
      return null;
    }
  }

  async remove(id: number): Promise<void> {
    try {
      await client.call('backbones.delete', { id });
      delete this.itemErrors[id];
      await this.refresh();
    } catch (err) {
      this.itemErrors[id] = errMsg(err);
    }
  }
}

export const backbonesStore = new BackbonesStore();
