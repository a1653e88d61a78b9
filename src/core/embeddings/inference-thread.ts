import type { Worker } from 'node:worker_threads';
import { startWorker } from '../entry';
import { LabError } from '../errors';
import type { FromWorker, SessionConfig, ToWorker } from './inference-messages';

interface Pending {
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/** The answer to an init or close request ('error' when the thread is gone). */
export interface InitReply {
  type: string;
  ok?: boolean;
  error?: string;
}

/** A worker thread (inference-worker.ts) holding one InferenceSession. */
export class InferenceThread {
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private waiter: ((m: InitReply) => void) | null = null;
  private dead: Error | null = null;

  constructor() {
    this.worker = startWorker(import.meta.url, 'inference-worker');
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'run') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if ('error' in m) p.reject(new LabError('job_failed', `Inference failed: ${m.error}`));
        else p.resolve(m.out);
      } else {
        const w = this.waiter;
        this.waiter = null;
        w?.(m);
      }
    });
    const fail = (err: Error): void => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      const w = this.waiter;
      this.waiter = null;
      w?.({ type: 'error', ok: false, error: err.message });
    };
    this.worker.on('error', (e) => fail(new LabError('job_failed', `The inference thread crashed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new LabError('job_failed', `The inference thread exited (code ${code}).`)));
  }

  private request(msg: ToWorker, transfer: ArrayBuffer[] = []): Promise<InitReply> {
    return new Promise((resolve) => {
      if (this.dead) return resolve({ type: 'error', ok: false, error: this.dead.message });
      this.waiter = resolve;
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Opens the session; model bytes are transferred to the thread once, and it keeps them for later tries. */
  init(cfg: SessionConfig, modelBytes?: Uint8Array): Promise<InitReply> {
    if (!modelBytes) return this.request({ type: 'init', ...cfg });
    return this.request({ type: 'init', ...cfg, modelBytes }, [modelBytes.buffer as ArrayBuffer]);
  }

  run(data: Float32Array | Uint8Array, n: number): Promise<Float32Array> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Transfer when the array owns its whole buffer; otherwise copy the part that matters.
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    const payload = owned ? data : data.slice();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, data: payload, n } satisfies ToWorker, [payload.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (!this.dead) await this.request({ type: 'close' });
    this.dead ??= new LabError('job_failed', 'The embedder is closed.');
    await this.worker.terminate();
  }
}
