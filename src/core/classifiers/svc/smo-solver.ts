import { LabError } from '../../errors';
import type { BinarySolution, SmoOptions, SmoQ } from './smo-q';

const TAU = 1e-12;
const LOWER = 0;
const UPPER = 1;
const FREE = 2;

/**
 * libsvm's Solver for the C-SVC dual (min 1/2 a'Qa - e'a, y'a = 0, 0 <= a <= C): second-order working
 * set selection (WSS3, Fan, Chen & Lin 2005), gradient and G_bar bookkeeping, shrinking with
 * gradient reconstruction. The main loop runs in chunks (step) so the caller can yield and cancel.
 */
export class SmoSolver {
  private readonly l: number;
  private activeSize: number;
  private readonly y: Int8Array;
  private readonly G: Float64Array;
  private readonly Gbar: Float64Array;
  private readonly alpha: Float64Array;
  private readonly status: Uint8Array;
  /** 1 when i is in I_up (alpha_i may move in the direction y_i): y=+1 below C, or y=-1 above 0. */
  private readonly inUp: Uint8Array;
  /** 1 when i is in I_low: y=+1 above 0, or y=-1 below C. */
  private readonly inLow: Uint8Array;
  private readonly p: Float64Array;
  private readonly activeSet: Int32Array;
  private readonly C: number;
  private readonly eps: number;
  private readonly shrinking: boolean;
  private readonly maxIter: number;
  private unshrink = false;
  private iter = 0;
  private counter: number;
  private done = false;
  private outI = -1;
  private outJ = -1;

  constructor(
    private readonly Q: SmoQ,
    opts: SmoOptions,
  ) {
    const l = Q.y.length;
    this.l = l;
    this.activeSize = l;
    this.y = Int8Array.from(Q.y);
    this.G = new Float64Array(l).fill(-1);
    this.Gbar = new Float64Array(l);
    this.alpha = new Float64Array(l);
    this.status = new Uint8Array(l).fill(LOWER);
    this.inUp = new Uint8Array(l);
    this.inLow = new Uint8Array(l);
    this.p = new Float64Array(l).fill(-1);
    this.activeSet = new Int32Array(l);
    for (let i = 0; i < l; i++) this.activeSet[i] = i;
    this.C = opts.C;
    this.eps = opts.eps;
    this.shrinking = opts.shrinking;
    this.maxIter = opts.maxIter >= 0 ? opts.maxIter : Math.max(10_000_000, l > 2147483647 / 100 ? 2147483647 : 100 * l);
    this.counter = Math.min(l, 1000) + 1;
    for (let i = 0; i < l; i++) this.updateStatus(i);
  }

  /** Iterations done so far. */
  get iterations(): number {
    return this.iter;
  }

  /** Runs up to `n` SMO iterations; returns true once the problem is solved (or the cap is reached). */
  step(n: number): boolean {
    if (this.done) return true;
    const l = this.l;
    const G = this.G;
    const alpha = this.alpha;
    const y = this.y;
    const C = this.C;
    const QD = this.Q.QD;
    for (let it = 0; it < n; it++) {
      if (this.iter >= this.maxIter) {
        if (this.activeSize < l) {
          this.reconstructGradient();
          this.activeSize = l;
        }
        this.done = true;
        return true;
      }
      if (--this.counter === 0) {
        this.counter = Math.min(l, 1000);
        if (this.shrinking) this.doShrinking();
      }
      if (this.selectWorkingSet()) {
        this.reconstructGradient();
        this.activeSize = l;
        if (this.selectWorkingSet()) {
          this.done = true;
          return true;
        }
        this.counter = 1; // shrink at the next iteration
      }
      this.iter++;
      const i = this.outI;
      const j = this.outJ;
      const activeSize = this.activeSize;
      const Qi = this.Q.getQ(i, activeSize);
      const Qj = this.Q.getQ(j, activeSize);
      const oldAi = alpha[i]!;
      const oldAj = alpha[j]!;
      let ai = oldAi;
      let aj = oldAj;
      if (y[i] !== y[j]) {
        let quad = QD[i]! + QD[j]! + 2 * Qi[j]!;
        if (quad <= 0) quad = TAU;
        const delta = (-G[i]! - G[j]!) / quad;
        const diff = ai - aj;
        ai += delta;
        aj += delta;
        if (diff > 0) {
          if (aj < 0) {
            aj = 0;
            ai = diff;
          }
        } else if (ai < 0) {
          ai = 0;
          aj = -diff;
        }
        if (diff > 0) {
          // C_i - C_j is 0: no class weights.
          if (ai > C) {
            ai = C;
            aj = C - diff;
          }
        } else if (aj > C) {
          aj = C;
          ai = C + diff;
        }
      } else {
        let quad = QD[i]! + QD[j]! - 2 * Qi[j]!;
        if (quad <= 0) quad = TAU;
        const delta = (G[i]! - G[j]!) / quad;
        const sum = ai + aj;
        ai -= delta;
        aj += delta;
        if (sum > C) {
          if (ai > C) {
            ai = C;
            aj = sum - C;
          }
        } else if (aj < 0) {
          aj = 0;
          ai = sum;
        }
        if (sum > C) {
          if (aj > C) {
            aj = C;
            ai = sum - C;
          }
        } else if (ai < 0) {
          ai = 0;
          aj = sum;
        }
      }
      alpha[i] = ai;
      alpha[j] = aj;
      const dAi = ai - oldAi;
      const dAj = aj - oldAj;
      for (let k = 0; k < activeSize; k++) G[k] += Qi[k]! * dAi + Qj[k]! * dAj;

      const ui = this.status[i] === UPPER;
      const uj = this.status[j] === UPPER;
      this.updateStatus(i);
      this.updateStatus(j);
      if (ui !== (this.status[i] === UPPER)) {
        const Qfull = this.Q.getQ(i, l);
        const Gbar = this.Gbar;
        if (ui) for (let k = 0; k < l; k++) Gbar[k] -= C * Qfull[k]!;
        else for (let k = 0; k < l; k++) Gbar[k] += C * Qfull[k]!;
      }
      if (uj !== (this.status[j] === UPPER)) {
        const Qfull = this.Q.getQ(j, l);
        const Gbar = this.Gbar;
        if (uj) for (let k = 0; k < l; k++) Gbar[k] -= C * Qfull[k]!;
        else for (let k = 0; k < l; k++) Gbar[k] += C * Qfull[k]!;
      }
    }
    return false;
  }

  /** The solution once step() returned true: signed coefficients in the original order, rho, objective. */
  solution(): BinarySolution {
    if (!this.done) throw new LabError('internal', 'SMO solution requested before the solver finished.');
    const l = this.l;
    let obj = 0;
    for (let i = 0; i < l; i++) obj += this.alpha[i]! * (this.G[i]! + this.p[i]!);
    obj /= 2;
    const coef = new Float64Array(l);
    for (let i = 0; i < l; i++) coef[this.activeSet[i]!] = this.alpha[i]! * this.y[i]!;
    return { coef, rho: this.calculateRho(), iterations: this.iter, obj };
  }

  private updateStatus(i: number): void {
    const a = this.alpha[i]!;
    const s = a >= this.C ? UPPER : a <= 0 ? LOWER : FREE;
    this.status[i] = s;
    const pos = this.y[i] === 1;
    this.inUp[i] = pos ? +(s !== UPPER) : +(s !== LOWER);
    this.inLow[i] = pos ? +(s !== LOWER) : +(s !== UPPER);
  }

  /**
   * WSS3; returns true when the maximal violating pair is within eps (optimal). Written over y_t G_t
   * and the I_up / I_low flags instead of libsvm's four branches: the same values (negations and
   * sign flips are exact), the same comparisons, hence the same choice.
   */
  private selectWorkingSet(): boolean {
    const G = this.G;
    const y = this.y;
    const up = this.inUp;
    const low = this.inLow;
    const n = this.activeSize;
    let Gmax = -Infinity;
    let Gmax2 = -Infinity;
    let GmaxIdx = -1;
    let GminIdx = -1;
    let objDiffMin = Infinity;
    // i = argmax { -y_t G_t | t in I_up }
    for (let t = 0; t < n; t++) {
      if (up[t]) {
        const v = -y[t]! * G[t]!;
        if (v >= Gmax) {
          Gmax = v;
          GmaxIdx = t;
        }
      }
    }
    const i = GmaxIdx;
    let Qi: Float32Array | null = null;
    if (i !== -1) Qi = this.Q.getQ(i, n);
    const QD = this.Q.QD;
    const QDi = i !== -1 ? QD[i]! : 0;
    const yi2 = i !== -1 ? 2 * y[i]! : 0;
    // j = argmin over t in I_low with -y_t G_t < Gmax of -(Gmax + y_t G_t)^2 / quad
    for (let j = 0; j < n; j++) {
      if (!low[j]) continue;
      const yj = y[j]!;
      const v = yj * G[j]!;
      if (v >= Gmax2) Gmax2 = v;
      const gradDiff = Gmax + v;
      if (gradDiff > 0) {
        const quad = QDi + QD[j]! - yi2 * yj * Qi![j]!;
        const objDiff = quad > 0 ? -(gradDiff * gradDiff) / quad : -(gradDiff * gradDiff) / TAU;
        if (objDiff <= objDiffMin) {
          GminIdx = j;
          objDiffMin = objDiff;
        }
      }
    }
    if (Gmax + Gmax2 < this.eps || GminIdx === -1) return true;
    this.outI = GmaxIdx;
    this.outJ = GminIdx;
    return false;
  }

  private beShrunk(i: number, Gmax1: number, Gmax2: number): boolean {
    const s = this.status[i];
    if (s === UPPER) return this.y[i] === 1 ? -this.G[i]! > Gmax1 : -this.G[i]! > Gmax2;
    if (s === LOWER) return this.y[i] === 1 ? this.G[i]! > Gmax2 : this.G[i]! > Gmax1;
    return false;
  }

  private doShrinking(): void {
    const G = this.G;
    const y = this.y;
    const st = this.status;
    let Gmax1 = -Infinity; // max { -y_i grad_i | i in I_up }
    let Gmax2 = -Infinity; // max { y_i grad_i | i in I_low }
    for (let i = 0; i < this.activeSize; i++) {
      if (y[i] === 1) {
        if (st[i] !== UPPER && -G[i]! >= Gmax1) Gmax1 = -G[i]!;
        if (st[i] !== LOWER && G[i]! >= Gmax2) Gmax2 = G[i]!;
      } else {
        if (st[i] !== UPPER && -G[i]! >= Gmax2) Gmax2 = -G[i]!;
        if (st[i] !== LOWER && G[i]! >= Gmax1) Gmax1 = G[i]!;
      }
    }
    if (!this.unshrink && Gmax1 + Gmax2 <= this.eps * 10) {
      this.unshrink = true;
      this.reconstructGradient();
      this.activeSize = this.l;
    }
    for (let i = 0; i < this.activeSize; i++) {
      if (this.beShrunk(i, Gmax1, Gmax2)) {
        this.activeSize--;
        while (this.activeSize > i) {
          if (!this.beShrunk(this.activeSize, Gmax1, Gmax2)) {
            this.swapIndex(i, this.activeSize);
            break;
          }
          this.activeSize--;
        }
      }
    }
  }

  private reconstructGradient(): void {
    const l = this.l;
    const n = this.activeSize;
    if (n === l) return;
    const G = this.G;
    const alpha = this.alpha;
    const st = this.status;
    for (let j = n; j < l; j++) G[j] = this.Gbar[j]! + this.p[j]!;
    let nrFree = 0;
    for (let j = 0; j < n; j++) if (st[j] === FREE) nrFree++;
    const Q = this.Q;
    if (Q.dotAt && Q.axpyRange) {
      // The same sums in the same order, reading only the entries they use.
      if (nrFree * l > 2 * n * (l - n)) {
        const free = new Int32Array(nrFree);
        for (let j = 0, f = 0; j < n; j++) if (st[j] === FREE) free[f++] = j;
        for (let i = n; i < l; i++) G[i] += Q.dotAt(i, free, nrFree, alpha);
      } else {
        for (let i = 0; i < n; i++) if (st[i] === FREE) Q.axpyRange(i, n, l, alpha[i]!, G);
      }
      return;
    }
    if (nrFree * l > 2 * n * (l - n)) {
      for (let i = n; i < l; i++) {
        const Qi = this.Q.getQ(i, n);
        let s = 0;
        for (let j = 0; j < n; j++) if (st[j] === FREE) s += alpha[j]! * Qi[j]!;
        G[i] += s;
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (st[i] !== FREE) continue;
        const Qi = this.Q.getQ(i, l);
        const ai = alpha[i]!;
        for (let j = n; j < l; j++) G[j] += ai * Qi[j]!;
      }
    }
  }

  private swapIndex(i: number, j: number): void {
    this.Q.swapIndex(i, j);
    swap8(this.y, i, j);
    swapF(this.G, i, j);
    swap8u(this.status, i, j);
    swap8u(this.inUp, i, j);
    swap8u(this.inLow, i, j);
    swapF(this.alpha, i, j);
    swapF(this.p, i, j);
    const a = this.activeSet[i]!;
    this.activeSet[i] = this.activeSet[j]!;
    this.activeSet[j] = a;
    swapF(this.Gbar, i, j);
  }

  private calculateRho(): number {
    let nrFree = 0;
    let ub = Infinity;
    let lb = -Infinity;
    let sumFree = 0;
    for (let i = 0; i < this.activeSize; i++) {
      const yG = this.y[i]! * this.G[i]!;
      const s = this.status[i];
      if (s === UPPER) {
        if (this.y[i] === -1) ub = Math.min(ub, yG);
        else lb = Math.max(lb, yG);
      } else if (s === LOWER) {
        if (this.y[i] === 1) ub = Math.min(ub, yG);
        else lb = Math.max(lb, yG);
      } else {
        nrFree++;
        sumFree += yG;
      }
    }
    return nrFree > 0 ? sumFree / nrFree : (ub + lb) / 2;
  }
}

function swapF(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function swap8(a: Int8Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

function swap8u(a: Uint8Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

