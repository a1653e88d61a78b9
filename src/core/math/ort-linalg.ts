/**
 * Dense linear algebra whose O(n^3) parts are matrix products on onnxruntime's CPU Gemm (MLAS for float32,
 * Eigen for float64, all cores), with plain JavaScript loops where onnxruntime is absent: a general product,
 * a blocked Cholesky factorisation and the blocked inverse of a lower-triangular matrix. Matrices are
 * row-major typed arrays; only the small diagonal blocks are factorised in JavaScript.
 */
import { LabError } from '../errors';
import { type ModelDef, OnnxType } from '../onnx/onnx-writer';
import { cpuGraphSession, loadOrt } from '../onnx/ort';

type Session = import('onnxruntime-node').InferenceSession;
type F = Float32Array | Float64Array;

const sessions = new Map<string, Promise<Session | null>>();

function gemmSession(double: boolean, transA: boolean, transB: boolean): Promise<Session | null> {
  const key = `${double ? 'd' : 's'}${transA ? 1 : 0}${transB ? 1 : 0}`;
  let p = sessions.get(key);
  if (!p) {
    const type = double ? OnnxType.DOUBLE : OnnxType.FLOAT;
    p = cpuGraphSession((): ModelDef => ({
        inputs: [
          { name: 'A', type, shape: ['a0', 'a1'] },
          { name: 'B', type, shape: ['b0', 'b1'] },
        ],
        outputs: [{ name: 'C', type, shape: ['c0', 'c1'] }],
        nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'], attrs: { transA: { i: transA ? 1 : 0 }, transB: { i: transB ? 1 : 0 } } }],
        graphName: 'gemm',
        opset: 17,
      }));
    sessions.set(key, p);
  }
  return p;
}

/** Which engine runs the products: 'onnxruntime-cpu', or 'js' where onnxruntime cannot be loaded. */
export async function linalgEngine(): Promise<'onnxruntime-cpu' | 'js'> {
  return (await gemmSession(false, false, false)) ? 'onnxruntime-cpu' : 'js';
}

/**
 * C = op(A) op(B), op = transpose when asked. A is stored [ar x ac], B [br x bc] (row-major). The result
 * has A's element type (both must have the same).
 */
export async function gemm<T extends F>(A: T, ar: number, ac: number, B: T, br: number, bc: number, o: { transA?: boolean; transB?: boolean } = {}): Promise<T> {
  const tA = !!o.transA;
  const tB = !!o.transB;
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const kb = tB ? bc : br;
  const n = tB ? br : bc;
  if (k !== kb) throw new LabError('invalid_input', `gemm: inner dimensions differ (${k} vs ${kb}).`);
  if (A.length !== ar * ac || B.length !== br * bc) throw new LabError('invalid_input', 'gemm: array sizes do not match their shapes.');
  const double = A instanceof Float64Array;
  if (m === 0 || n === 0) return (double ? new Float64Array(m * n) : new Float32Array(m * n)) as T;
  if (k === 0) return (double ? new Float64Array(m * n) : new Float32Array(m * n)) as T;
  const sess = await gemmSession(double, tA, tB);
  const ort = sess ? await loadOrt() : null;
  if (sess && ort) {
    const type = double ? 'float64' : 'float32';
    const out = await sess.run({ A: new ort.Tensor(type, A, [ar, ac]), B: new ort.Tensor(type, B, [br, bc]) });
    return out.C!.data as T;
  }
  // JavaScript fallback: i-k-j loops (B rows read in order).
  const C = double ? new Float64Array(m * n) : new Float32Array(m * n);
  const a = (i: number, p: number): number => (tA ? A[p * ac + i]! : A[i * ac + p]!);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const v = a(i, p);
      if (v === 0) continue;
      if (tB) for (let j = 0; j < n; j++) C[i * n + j]! += v * B[j * bc + p]!;
      else for (let j = 0, off = p * bc; j < n; j++) C[i * n + j]! += v * B[off + j]!;
    }
  }
  return C as T;
}

/** Rows r0..r1 and columns c0..c1 of a row-major matrix with `cols` columns, as a new contiguous array. */
function block(A: Float64Array, cols: number, r0: number, r1: number, c0: number, c1: number): Float64Array {
  const w = c1 - c0;
  const out = new Float64Array((r1 - r0) * w);
  for (let i = r0; i < r1; i++) out.set(A.subarray(i * cols + c0, i * cols + c1), (i - r0) * w);
  return out;
}

function putBlock(A: Float64Array, cols: number, r0: number, c0: number, B: Float64Array, rows: number, w: number): void {
  for (let i = 0; i < rows; i++) A.set(B.subarray(i * w, (i + 1) * w), (r0 + i) * cols + c0);
}

/** Unblocked Cholesky of a small SPD block (lower factor, in place of a copy). */
function cholSmall(A: Float64Array, n: number, offset: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let p = 0; p < j; p++) s -= L[i * n + p]! * L[j * n + p]!;
      if (i === j) {
        if (!(s > 0)) throw new LabError('invalid_input', `The matrix is not positive definite (pivot ${offset + i} is ${s}).`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  return L;
}

/** Inverse of a small lower-triangular block (forward substitution, column by column). */
function triInvSmall(L: Float64Array, n: number): Float64Array {
  const W = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    W[c * n + c] = 1 / L[c * n + c]!;
    for (let i = c + 1; i < n; i++) {
      let s = 0;
      for (let p = c; p < i; p++) s -= L[i * n + p]! * W[p * n + c]!;
      W[i * n + c] = s / L[i * n + i]!;
    }
  }
  return W;
}

const BLOCK = 192;

/**
 * The lower Cholesky factor L (A = L L^T) of a symmetric positive definite D x D matrix (float64), blocked
 * left-looking: per block column, one product updates the panel, the diagonal block is factorised in
 * JavaScript, one product solves the rows below it. Also returns the inverses of the diagonal blocks.
 * LabError('invalid_input') when A is not positive definite.
 */
export async function cholesky(A: Float64Array, D: number): Promise<{ L: Float64Array; diagInv: Float64Array[] }> {
  if (A.length !== D * D) throw new LabError('invalid_input', `cholesky: expected ${D} x ${D} values.`);
  const L = new Float64Array(D * D);
  const diagInv: Float64Array[] = [];
  for (let k0 = 0; k0 < D; k0 += BLOCK) {
    const kb = Math.min(BLOCK, D - k0);
    const rows = D - k0;
    const panel = block(A, D, k0, D, k0, k0 + kb);
    if (k0 > 0) {
      const upd = await gemm(block(L, D, k0, D, 0, k0), rows, k0, block(L, D, k0, k0 + kb, 0, k0), kb, k0, { transB: true });
      for (let i = 0; i < panel.length; i++) panel[i]! -= upd[i]!;
    }
    const Lkk = cholSmall(panel.subarray(0, kb * kb), kb, k0);
    const Wkk = triInvSmall(Lkk, kb);
    diagInv.push(Wkk);
    putBlock(L, D, k0, k0, Lkk, kb, kb);
    if (rows > kb) {
      // L[below, k] = panel[below] Lkk^{-T}
      const below = await gemm(panel.subarray(kb * kb), rows - kb, kb, Wkk, kb, kb, { transB: true });
      putBlock(L, D, k0 + kb, k0, below, rows - kb, kb);
    }
  }
  return { L, diagInv };
}

/**
 * The inverse W = L^{-1} of a lower-triangular D x D factor from cholesky() (itself lower-triangular),
 * blocked by block rows: W[i, <i] = -W_ii (L[i, <i] W[<i, <i]), two products per block row.
 */
export async function lowerInverse(L: Float64Array, D: number, diagInv: Float64Array[]): Promise<Float64Array> {
  const W = new Float64Array(D * D);
  for (let bi = 0, i0 = 0; i0 < D; bi++, i0 += BLOCK) {
    const ib = Math.min(BLOCK, D - i0);
    const Wii = diagInv[bi]!;
    putBlock(W, D, i0, i0, Wii, ib, ib);
    if (i0 > 0) {
      const T = await gemm(block(L, D, i0, i0 + ib, 0, i0), ib, i0, block(W, D, 0, i0, 0, i0), i0, i0);
      const R = await gemm(Wii, ib, ib, T, ib, i0);
      for (let i = 0; i < R.length; i++) R[i] = -R[i]!;
      putBlock(W, D, i0, 0, R, ib, i0);
    }
  }
  return W;
}
