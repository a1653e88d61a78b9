/** "Export model" on a run (Train and Compare): the export call and what it said, per run. */
import { client } from '../transport';
import { errMsg } from '../errors';

export interface ModelExportState {
  busy: boolean;
  /** Where the model was written and its size, or null. */
  done: { file: string; bytes: number; seconds: number; notes: string[] } | null;
  error: string | null;
}

class ModelExportStore {
  byRun = $state<Record<number, ModelExportState>>({});

  /** Exports the run's full model to the data directory's exports folder (the engine picks the path). */
  async exportRun(runId: number): Promise<void> {
    this.byRun[runId] = { busy: true, done: null, error: null };
    try {
      const r = await client.call('runs.exportModel', { id: runId });
      this.byRun[runId] = { busy: false, done: { file: r.file, bytes: r.bytes, seconds: r.seconds, notes: r.notes }, error: null };
    } catch (err) {
      this.byRun[runId] = { busy: false, done: null, error: errMsg(err) };
    }
  }
}

export const modelExport = new ModelExportStore();
