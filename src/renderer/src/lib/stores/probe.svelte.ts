import type { ProbeResult } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { toBase64 } from '../files';
import { client } from '../transport';
import { jobsStore } from './jobs.svelte';
import { ListStore } from './list-store.svelte';

/** Images can be at most this large (the contract's limit on the base64 text is 30 MB). */
export const MAX_IMAGE_BYTES = 22_000_000;

/** Try an image: images sent to a set's runs, and every image tried on it before. */
class ProbeStore extends ListStore<ProbeResult> {
  setId = $state<number | null>(null);
  sendError = $state<string | null>(null);
  sending = $state(false);
  jobId = $state<string | null>(null);
  /** Files of the last drop that were not tried, each with the reason (the others were). */
  refused = $state<{ name: string; reason: string }[]>([]);

  constructor() {
    super();
    jobsStore.onSettled((j) => {
      if (j.kind !== 'probe' || this.setId === null) return;
      if (j.id === this.jobId && j.status !== 'done') this.sendError = j.error ?? `The job ended as ${j.status}.`;
      if (j.id === this.jobId && j.kind === 'probe' && j.result) this.refused = [...this.refused, ...j.result.refused];
      void this.load(this.setId);
    });
  }

  async load(setId: number): Promise<void> {
    if (this.setId !== setId) {
      this.list = [];
      this.loaded = false;
    }
    this.setId = setId;
    await this.fetchList(() => client.call('probes.list', { setId }));
  }

  /** Forgets one tried image, then reloads the list (so a stale entry deleted elsewhere disappears too). */
  async remove(id: number): Promise<void> {
    await this.itemAction(id, () => client.call('probes.delete', { id }));
    if (this.setId !== null) await this.load(this.setId);
  }

  async send(setId: number, files: File[]): Promise<void> {
    this.sendError = null;
    // Each file on its own: those that cannot be tried are listed with the reason, the others are sent.
    const refused: { name: string; reason: string }[] = [];
    const images: File[] = [];
    for (const f of files) {
      const name = f.name || 'pasted image';
      if (!(f.type.startsWith('image/') || /\.(jpe?g|png|webp|gif|bmp|tiff?|avif)$/i.test(f.name))) refused.push({ name, reason: 'Not an image (JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF).' });
      else if (f.size === 0) refused.push({ name, reason: 'The file is empty (0 bytes).' });
      else if (f.size > MAX_IMAGE_BYTES) refused.push({ name, reason: `Larger than ${Math.round(MAX_IMAGE_BYTES / 1e6)} MB; use a smaller image.` });
      else images.push(f);
    }
    this.refused = refused;
    if (!images.length) return;
    this.sending = true;
    try {
      const payload = await Promise.all(images.slice(0, 16).map(async (f, i) => ({ name: f.name || `pasted-${i + 1}.png`, dataBase64: await toBase64(f) })));
      const job = await client.call('probe.start', { setId, images: payload });
      jobsStore.track(job, false);
      this.jobId = job.id;
      if (images.length > 16) this.sendError = `Only the first 16 of ${images.length} images were sent; drop the rest afterwards.`;
    } catch (err) {
      this.sendError = errMsg(err);
    } finally {
      this.sending = false;
    }
  }
}

export const probeStore = new ProbeStore();
