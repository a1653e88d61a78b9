import type { DatasetSummary, ImportSourceInput, Job } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { toBase64 } from '../files';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';
import { ListStore } from './list-store.svelte';

/** What the import form asks for besides the path. */
export interface ImportOptions {
  kind: 'cifar' | 'folder';
  coarse: boolean;
  testFraction: number;
  seed: number;
  badImages: 'skip' | 'error';
  name: string;
}

/** Datasets: the list, imports, downloads, rename and delete. */
class DatasetsStore extends ListStore<DatasetSummary> {
  /** Error of the last import/upload/download, shown beside the import form. */
  importError = $state<string | null>(null);
  busy = $state(false);
  /** The job started last from the import form. */
  jobId = $state<string | null>(null);

  constructor() {
    super();
    jobsStore.onSettled((j) => {
      if (j.kind === 'import' || j.kind === 'download' || j.kind === 'experiment') void this.refresh();
    });
    // The demo (an experiment) creates its dataset minutes before it ends: show it when its next phase starts.
    jobsStore.onPhase((p) => {
      if (p.kind === 'experiment' || p.kind === 'download') void this.refresh();
    });
  }

  refresh(): Promise<void> {
    return this.fetchList(() => client.call('datasets.list', {}));
  }

  byId(id: number | null | undefined): DatasetSummary | undefined {
    return id === null || id === undefined ? undefined : this.list.find((d) => d.id === id);
  }

  /** A class's name, or its number when the dataset is unknown. */
  className(datasetId: number | null | undefined, label: number): string {
    return this.byId(datasetId)?.classes[label] ?? `class ${label}`;
  }

  private async startJob(fn: () => Promise<Job>): Promise<Job | null> {
    this.busy = true;
    this.importError = null;
    try {
      const job = await fn();
      jobsStore.track(job, false);
      this.jobId = job.id;
      return job;
    } catch (err) {
      this.importError = errMsg(err);
      return null;
    } finally {
      this.busy = false;
    }
  }

  private source(path: string, o: ImportOptions): ImportSourceInput {
    return o.kind === 'cifar'
      ? { type: 'cifar', path, coarse: o.coarse }
      : { type: 'folder', path, testFraction: o.testFraction, seed: o.seed, badImages: o.badImages };
  }

  importPath(path: string, o: ImportOptions): Promise<Job | null> {
    const name = o.name.trim() || undefined;
    return this.startJob(() => client.call('datasets.import', { source: this.source(path.trim(), o), name }));
  }

  /** Uploads a picked file to the engine's data directory, then imports it from there. */
  upload(file: File, o: ImportOptions): Promise<Job | null> {
    return this.startJob(async () => {
      const put = await client.call('uploads.put', { name: file.name, dataBase64: await toBase64(file) });
      return client.call('datasets.import', { source: this.source(put.path, o), name: o.name.trim() || undefined });
    });
  }

  download(which: 'cifar10' | 'cifar100', coarse = false): Promise<Job | null> {
    return this.startJob(() => client.call('datasets.download', { which, ...(which === 'cifar100' ? { coarse } : {}) }));
  }

  importSample(): Promise<Job | null> {
    return this.startJob(() => client.call('datasets.import', { source: { type: 'sample', name: 'shapes10' } }));
  }

  rename(id: number, name: string): Promise<boolean> {
    return this.itemAction(id, async () => {
      const d = await client.call('datasets.rename', { id, name });
      this.list = this.list.map((x) => (x.id === id ? d : x));
    });
  }

  async remove(id: number): Promise<void> {
    if (await this.itemAction(id, () => client.call('datasets.delete', { id }))) await this.refresh();
  }
}

export const datasetsStore = new DatasetsStore();
