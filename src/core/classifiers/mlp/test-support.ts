/**
 * What the dense nets' tests (mlp.test.ts, ../keras/keras.test.ts) share: an independent float64 reference of
 * their mini-batch training, and a switch that forces the engines onto TensorFlow.js.
 */
import type { AdamConfig } from './engine';

/**
 * Independent float64 reference of mini-batch training from given weights, written out by hand: for each
 * batch (row indices), the log-probabilities of its rows before the step, then one Adam step on the batch's
 * mean cross-entropy gradient of the softmax outputs (the logits' gradient is (p - onehot) / nb):
 * m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, W -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * (PyTorch's torch.optim.Adam and tfjs-core's AdamOptimizer alike). With `clip` (Keras's cross-entropy,
 * -log(clip(p_y, clip, 1 - clip))), a row whose p_y is clipped passes no gradient. theta is flat [W1; b1]
 * ((D+1) x H) then [W2; b2] ((H+1) x C).
 */
export function denseReference(
  X: number[][],
  y: number[],
  H: number,
  C: number,
  theta0: ArrayLike<number>,
  batches: number[][],
  adam: AdamConfig,
  clip: number | null = null,
): { theta: number[]; logProbs: number[][]; clippedRows: number } {
  const D = X[0]!.length;
  const theta = Array.from(theta0);
  const [oW1, ob1, oW2, ob2] = [0, D * H, D * H + H, D * H + H + H * C];
  const m = new Array<number>(theta.length).fill(0);
  const v = new Array<number>(theta.length).fill(0);
  const logProbs: number[][] = [];
  let clippedRows = 0;
  batches.forEach((rows, s) => {
    const t = s + 1;
    const g = new Array<number>(theta.length).fill(0);
    for (const i of rows) {
      const z1 = Array.from({ length: H }, (_, k) => theta[ob1 + k]! + X[i]!.reduce((acc, x, j) => acc + x * theta[oW1 + j * H + k]!, 0));
      const a1 = z1.map((z) => Math.max(0, z));
      const z2 = Array.from({ length: C }, (_, c) => theta[ob2 + c]! + a1.reduce((acc, a, k) => acc + a * theta[oW2 + k * C + c]!, 0));
      const mx = Math.max(...z2);
      const lse = mx + Math.log(z2.reduce((acc, z) => acc + Math.exp(z - mx), 0));
      logProbs.push(z2.map((z) => z - lse));
      const py = Math.exp(z2[y[i]!]! - lse);
      if (clip !== null && (py < clip || py > 1 - clip)) {
        clippedRows++;
        continue;
      }
      const dz2 = z2.map((z, c) => (Math.exp(z - lse) - (c === y[i] ? 1 : 0)) / rows.length);
      for (let c = 0; c < C; c++) {
        g[ob2 + c]! += dz2[c]!;
        for (let k = 0; k < H; k++) g[oW2 + k * C + c]! += a1[k]! * dz2[c]!;
      }
      for (let k = 0; k < H; k++) {
        if (z1[k]! <= 0) continue;
        const da = dz2.reduce((acc, d, c) => acc + d * theta[oW2 + k * C + c]!, 0);
        g[ob1 + k]! += da;
        for (let j = 0; j < D; j++) g[oW1 + j * H + k]! += X[i]![j]! * da;
      }
    }
    const bc1 = 1 - adam.b1 ** t;
    const bc2 = 1 - adam.b2 ** t;
    for (let p = 0; p < theta.length; p++) {
      m[p] = adam.b1 * m[p]! + (1 - adam.b1) * g[p]!;
      v[p] = adam.b2 * v[p]! + (1 - adam.b2) * g[p]! * g[p]!;
      theta[p] = theta[p]! - (adam.lr * (m[p]! / bc1)) / (Math.sqrt(v[p]! / bc2) + adam.eps);
    }
  });
  return { theta, logProbs, clippedRows };
}

/** Runs fn with the dense-net engines forced onto TensorFlow.js (as when onnxruntime-node cannot load) or left on their default. */
export async function onEngine<T>(engine: 'onnx' | 'tfjs', fn: () => Promise<T>): Promise<T> {
  const prev = process.env.DINOLAB_MLP_ENGINE;
  if (engine === 'tfjs') process.env.DINOLAB_MLP_ENGINE = 'tfjs';
  else delete process.env.DINOLAB_MLP_ENGINE;
  try {
    return await fn();
  } finally {
    if (prev === undefined) delete process.env.DINOLAB_MLP_ENGINE;
    else process.env.DINOLAB_MLP_ENGINE = prev;
  }
}
