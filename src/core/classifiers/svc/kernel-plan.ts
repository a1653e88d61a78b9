/**
 * Where the SVC's precomputed kernel blocks go (kernel-memory.ts): which class pairs are precomputed
 * within the budget (the svc's cacheMb), and how many equal slots the blocks array holds.
 */

/**
 * How the precomputed pairs share the budget: the blocks array is `slots` equal slots of `slot` floats,
 * each holding one block (a class block K(c, c), a cross block K(a, b) or its transpose).
 */
export interface BlockPlan {
  /** Pair index (fit order) -> index among the precomputed pairs. */
  orderIndex: Map<number, number>;
  /** The precomputed pairs in order, and their classes. */
  order: number[];
  pairOf: [number, number][];
  /** Floats in one slot: n_c^2 of the largest class of a precomputed pair (>= any of their cross blocks). */
  slot: number;
  /** Slots in the blocks array (0 when no pair is precomputed). */
  slots: number;
  /** Floats in all: slots x slot <= the budget (cacheMb). */
  total: number;
}

/**
 * Plans the blocks within the budget (cacheBytes, the svc's cacheMb): the pairs whose kernel matrix fits
 * it ((n_a + n_b)^2 floats) are precomputed, in slots of the largest such class's n_c^2 floats; as many
 * slots as the budget holds, at most one per class plus two per cross-block slot (min(lanes + 1, pairs):
 * one per solving lane and one ahead), and at least four (one pair: two class blocks, a cross block and its
 * transpose). While four slots of the largest class do not fit, that class's pairs go on demand instead.
 */
export function planBlocks(classRows: Int32Array[], cacheBytes: number, lanes: number): BlockPlan {
  const k = classRows.length;
  const budget = Math.floor(cacheBytes / 4);
  const excluded = new Uint8Array(k);
  for (;;) {
    const orderIndex = new Map<number, number>();
    const order: number[] = [];
    const pairOf: [number, number][] = [];
    const used = new Uint8Array(k);
    let slot = 0;
    let largest = -1;
    let p = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++, p++) {
        if (excluded[i] || excluded[j] || !pairFits(classRows, i, j, cacheBytes)) continue;
        orderIndex.set(p, order.length);
        order.push(p);
        pairOf.push([i, j]);
        for (const c of [i, j]) {
          used[c] = 1;
          const n2 = classRows[c]!.length ** 2;
          if (n2 > slot) [slot, largest] = [n2, c];
        }
      }
    }
    if (order.length === 0) return { orderIndex, order, pairOf, slot: 0, slots: 0, total: 0 };
    if (Math.floor(budget / slot) < 4) {
      excluded[largest] = 1;
      continue;
    }
    const classes = used.reduce((a, u) => a + u, 0);
    const slots = Math.min(classes + 2 * Math.min(lanes + 1, order.length), Math.floor(budget / slot));
    return { orderIndex, order, pairOf, slot, slots, total: slots * slot };
  }
}

/** Does the kernel matrix of classes i and j fit the cache budget? */
export function pairFits(classRows: Int32Array[], i: number, j: number, cacheBytes: number): boolean {
  return (classRows[i]!.length + classRows[j]!.length) ** 2 * 4 <= cacheBytes;
}

/** Kernel values of all class pairs precomputed under the budget (the work that parallel solving splits). */
export function pairEntries(classRows: Int32Array[], cacheBytes: number): number {
  let n = 0;
  for (let i = 0; i < classRows.length; i++) {
    for (let j = i + 1; j < classRows.length; j++) {
      if (pairFits(classRows, i, j, cacheBytes)) n += (classRows[i]!.length + classRows[j]!.length) ** 2;
    }
  }
  return n;
}
