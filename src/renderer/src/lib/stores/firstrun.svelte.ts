import { CLASSIFIER_KINDS, type Job } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { client } from '../transport';
import { backbonesStore } from './backbones.svelte';
import { datasetsStore } from './datasets.svelte';
import { jobsStore } from './jobs.svelte';
import { selection } from './selection.svelte';
import { setsStore } from './sets.svelte';

/** The two one-click paths of an empty workspace: the offline demo, and CIFAR-10 with DINOv2-small. */
class FirstRunStore {
  /** What the chain is doing now, for the welcome panel. */
  step = $state<string | null>(null);
  error = $state<string | null>(null);
  running = $state(false);
  /** Set when the whole journey finished. */
  finished = $state(false);

  async demo(): Promise<void> {
    await this.guard(async () => {
      this.step = 'Running the offline demo: Shapes-10, raw-pixels and random ViT baselines, every classifier…';
      const job = await client.call('experiment.start', { demo: true });
      jobsStore.track(job);
      const end = await jobsStore.waitFor(job.id);
      this.expectDone(end, 'The demo');
      // The study's newest set, not the OOD pair's (embedded last): Compare opens on Shapes-10.
      const studySet = end.kind === 'experiment' ? end.result?.sets.at(-1) : undefined;
      if (studySet !== undefined) selection.select(studySet);
      await this.afterwards();
    });
  }

  async cifar(): Promise<void> {
    await this.guard(async () => {
      this.step = 'Downloading CIFAR-10 and DINOv2-small…';
      const [dj, bj] = await Promise.all([
        client.call('datasets.download', { which: 'cifar10' }),
        client.call('backbones.download', { model: 'dinov2-small', precision: 'float32' }),
      ]);
      jobsStore.track(dj);
      jobsStore.track(bj);
      const [d, b] = await Promise.all([jobsStore.waitFor(dj.id), jobsStore.waitFor(bj.id)]);
      this.expectDone(d, 'The CIFAR-10 download');
      this.expectDone(b, 'The DINOv2-small download');
      await Promise.all([datasetsStore.refresh(), backbonesStore.refresh()]);
      // The jobs' results name what they made; the lists are the fallback.
      const dataset =
        datasetsStore.byId(d.kind === 'download' ? d.result?.datasetId : undefined) ?? [...datasetsStore.list].reverse().find((x) => x.kind === 'cifar10');
      const backbone =
        backbonesStore.byId((b.kind === 'backbone-download' ? b.result?.backboneId : undefined) ?? -1) ??
        [...backbonesStore.list].reverse().find((x) => x.name.startsWith('dinov2-small'));
      if (!dataset || !backbone) throw new Error('The downloads finished but the dataset or the backbone is not listed; start the embedding from the Embeddings page.');

      this.step = `Embedding ${dataset.name} with ${backbone.name}…`;
      const ej = await client.call('embeddings.start', { datasetId: dataset.id, backboneId: backbone.id, preset: 'resize-224', provider: 'auto' });
      jobsStore.track(ej);
      this.expectDone(await jobsStore.waitFor(ej.id), 'The embedding');
      await setsStore.refresh();
      const set = setsStore.list.find((s) => s.datasetId === dataset.id && s.backboneId === backbone.id && s.status === 'done');
      if (!set) throw new Error('The embedding finished but its set is not complete; resume it from the Embeddings page.');
      selection.select(set.id);

      this.step = 'Training every classifier…';
      const jobs: Job[] = [];
      for (const kind of CLASSIFIER_KINDS) {
        const j = await client.call('runs.start', { setId: set.id, kind });
        jobsStore.track(j);
        jobs.push(j);
      }
      await Promise.all(jobs.map((j) => jobsStore.waitFor(j.id)));
      await this.afterwards();
    });
  }

  private expectDone(job: Job, what: string): void {
    if (job.status !== 'done') throw new Error(`${what} ${job.status === 'cancelled' ? 'was cancelled' : `failed: ${job.error ?? job.status}`}.`);
  }

  private async afterwards(): Promise<void> {
    await Promise.all([datasetsStore.refresh(), backbonesStore.refresh(), setsStore.refresh()]);
    this.step = 'Done: open Compare to see every classifier side by side.';
    this.finished = true;
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    this.running = true;
    this.finished = false;
    this.error = null;
    try {
      await fn();
    } catch (err) {
      this.error = errMsg(err);
      this.step = null;
    } finally {
      this.running = false;
    }
  }
}

export const firstRunStore = new FirstRunStore();
