/**
 * libsvm's Cache: kernel rows kept in least-recently-used order within a byte budget. Row i holds
 * columns [0, len(i)) of the solver's current (possibly shrunk and permuted) index order.
 */
export class KernelCache {
  private readonly data: (Float32Array | null)[];
  private readonly len: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Free budget, in floats. */
  private size: number;
  private readonly head: number;

  constructor(
    private readonly l: number,
    bytes: number,
  ) {
    this.data = new Array<Float32Array | null>(l).fill(null);
    this.len = new Int32Array(l);
    // Index l is the list's sentinel.
    this.prev = new Int32Array(l + 1);
    this.next = new Int32Array(l + 1);
    this.head = l;
    this.prev[l] = l;
    this.next[l] = l;
    // As libsvm: at least two full rows, so the two rows of one SMO step never evict each other.
    this.size = Math.max(Math.floor(bytes / 4), 2 * l);
  }

  /** The row buffer of i (valid after get). */
  row(i: number): Float32Array {
    return this.data[i]!;
  }

  /**
   * Makes row i at least `len` long and most recently used. Returns how many leading entries were
   * already filled: the caller computes [returned, len).
   */
  get(i: number, len: number): number {
    const had = this.len[i]!;
    if (had) this.unlink(i);
    const more = len - had;
    if (more > 0) {
      while (this.size < more) {
        const old = this.next[this.head]!;
        this.unlink(old);
        this.size += this.len[old]!;
        this.data[old] = null;
        this.len[old] = 0;
      }
      const buf = new Float32Array(len);
      const prevData = this.data[i];
      if (prevData && had) buf.set(prevData.subarray(0, had));
      this.data[i] = buf;
      this.size -= more;
      this.len[i] = len;
    }
    this.link(i);
    return more > 0 ? had : len;
  }

  /** Mirrors Solver::swap_index: swaps rows i and j and columns i and j of every cached row. */
  swapIndex(a: number, b: number): void {
    if (a === b) return;
    if (this.len[a]) this.unlink(a);
    if (this.len[b]) this.unlink(b);
    const td = this.data[a]!;
    this.data[a] = this.data[b]!;
    this.data[b] = td;
    const tl = this.len[a]!;
    this.len[a] = this.len[b]!;
    this.len[b] = tl;
    if (this.len[a]) this.link(a);
    if (this.len[b]) this.link(b);
    const i = Math.min(a, b);
    const j = Math.max(a, b);
    for (let h = this.next[this.head]!; h !== this.head; ) {
      const nx = this.next[h]!;
      const hl = this.len[h]!;
      if (hl > i) {
        const row = this.data[h]!;
        if (hl > j) {
          const t = row[i]!;
          row[i] = row[j]!;
          row[j] = t;
        } else {
          // The row covers i but not j: it cannot be kept consistent, so drop it (as libsvm does).
          this.unlink(h);
          this.size += hl;
          this.data[h] = null;
          this.len[h] = 0;
        }
      }
      h = nx;
    }
  }

  private unlink(h: number): void {
    this.next[this.prev[h]!] = this.next[h]!;
    this.prev[this.next[h]!] = this.prev[h]!;
  }

  private link(h: number): void {
    // Insert at the tail (most recently used).
    this.next[h] = this.head;
    this.prev[h] = this.prev[this.head]!;
    this.next[this.prev[h]!] = h;
    this.prev[this.head] = h;
  }
}
