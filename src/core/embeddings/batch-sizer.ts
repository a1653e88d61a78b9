/**
 * Batch sizes timed on the first batches when none is given; the first size runs twice (warm-up). On a
 * CPU the smallest batches are often the fastest per image (measured here: ViT-S/14 30 images/s at batch
 * 1, 22 at 64), on a GPU the larger ones (the H200 figures in DESIGN.md peak at 64-128).
 */
const TRIAL_SIZES: Record<'cpu' | 'accelerator', number[]> = { cpu: [4, 4, 1, 2, 8, 16], accelerator: [8, 8, 16, 32, 64, 128] };

/** Hands out batch sizes: fixed, or trial sizes first and then the fastest per image. */
export class BatchSizer {
  private trial = 0;
  private timings: { size: number; perImage: number }[] = [];
  private largestUsed = 0;
  private sizes = TRIAL_SIZES.accelerator;
  constructor(private fixed: number | undefined) {}
  /** Picks the trial sizes for the provider the embedder actually runs on. */
  useProvider(provider: string): void {
    this.sizes = provider === 'cpu' ? TRIAL_SIZES.cpu : TRIAL_SIZES.accelerator;
  }
  /** The size in use: fixed, the fastest timed one, or (before any full timed batch) the largest used. */
  get chosen(): number {
    if (this.fixed) return this.fixed;
    if (this.timings.length === 0) return this.largestUsed || this.sizes[0]!;
    let best = this.timings[0]!;
    for (const t of this.timings) if (t.perImage < best.perImage) best = t;
    return best.size;
  }
  next(): number {
    const size = this.fixed ?? (this.trial < this.sizes.length ? this.sizes[this.trial++]! : this.chosen);
    this.largestUsed = Math.max(this.largestUsed, size);
    return size;
  }
  record(size: number, n: number, ms: number, trialIndex: number): void {
    // Trial 0 is the warm-up (first-run allocations and kernel selection); partial batches are not comparable.
    if (this.fixed || trialIndex === 0 || trialIndex >= this.sizes.length || n < size) return;
    this.timings.push({ size, perImage: ms / n });
  }
}
