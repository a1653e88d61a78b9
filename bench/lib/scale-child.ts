/**
 * One kind at one size for `npm run bench -- scale`, in its own process (so its peak RSS is this job's
 * alone): synthetic data (seeded Gaussian blobs, 10 classes; not CIFAR), fit with default params,
 * predict the 10,000 test rows, train metrics as a run measures them (seeded subsample of at most 10,000
 * rows, k-NN leave-one-out). Prints one JSON line.
 * Usage: node --import tsx bench/lib/scale-child.ts <kind> <trainRows> <dim> [maxRows]
 */
import { createClassifier } from '../../src/core/classifiers/registry';
import { encodeModel } from '../../src/core/classifiers/model-codec';
import { takeLabels, takeRows, type Matrix } from '../../src/core/math/matrix';
import { Prng } from '../../src/core/math/prng';
import { classificationMetrics } from '../../src/core/metrics/metrics';
import { trainMetricRows } from '../../src/core/runs/train-run';

const [kind, nArg, dArg, capArg] = process.argv.slice(2);
const n = Number(nArg);
const d = Number(dArg);
const C = 10;
const nTest = 10_000;

function blobs(rows: number, seed: number, mu: Float32Array): { X: Matrix; y: Int32Array } {
  const rng = new Prng(seed);
  const X = new Float32Array(rows * d);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % C;
    y[i] = c;
    for (let j = 0; j < d; j++) X[i * d + j] = mu[c * d + j]! + rng.normal();
  }
  return { X: { rows, cols: d, data: X }, y };
}

const rng = new Prng(1);
const mu = Float32Array.from({ length: C * d }, () => rng.normal() * 0.15);
let train = blobs(n, 2, mu);
const test = blobs(nTest, 3, mu);
if (capArg) {
  const rows = trainMetricRows(n, 0, Number(capArg));
  train = { X: takeRows(train.X, rows), y: takeLabels(train.y, rows) };
}
const clf = createClassifier(kind!, {}, { numClasses: C, seed: 0 });
let t = performance.now();
await clf.fit(train.X, train.y);
const fitS = (performance.now() - t) / 1000;
t = performance.now();
const pred = await clf.predict(test.X);
const predictS = (performance.now() - t) / 1000;
t = performance.now();
const rows = trainMetricRows(train.X.rows, 0);
const trainPred = clf.predictTrainingRows ? await clf.predictTrainingRows(rows) : await clf.predict(takeRows(train.X, rows));
const trainM = classificationMetrics(takeLabels(train.y, rows), trainPred, C);
const testM = classificationMetrics(test.y, pred, C);
const evaluateS = (performance.now() - t) / 1000;
t = performance.now();
const model = encodeModel(clf.toJSON());
const saveS = (performance.now() - t) / 1000;
console.log(
  JSON.stringify({
    kind,
    trainRows: train.X.rows,
    dim: d,
    backend: clf.backend,
    // mlp and keras on onnxruntime: how the steps were shared between 1 thread and every core
    threads: (clf as { engineThreads?: string }).engineThreads,
    fitS,
    predictS,
    evaluateS,
    saveS,
    modelMB: (model.header.byteLength + model.arrays.reduce((a, x) => a + x.byteLength, 0)) / 2 ** 20,
    testAccuracy: testM.accuracy,
    trainAccuracy: trainM.accuracy,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    // CPU seconds of this process (all threads): on a shared, loaded machine wall times mislead; this does less.
    cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    trainMatrixMB: Math.round(train.X.data.byteLength / 2 ** 20),
  }),
);
process.exit(0);
