/** The knn kind: DINO's weighted k-NN; its saved model is its training set (stored by reference). */
import { LabError } from '../../errors';
import { defineClassifier } from '../spec';
import { KnnClassifier } from './knn';
import { knnParams, tags, text } from './params';

export const knn = defineClassifier({
  kind: 'knn',
  text,
  params: knnParams,
  tags,
  // Each scored row is compared with every training row; predict() is argmax(predictProba()).
  predictCostExponent: 1,
  labelsAreArgmaxProba: true,
  forSubset: (params, s) =>
    params.k <= s.rows ? { params, notes: [] } : { params: { ...params, k: s.rows }, notes: [`k clamped from ${params.k} to the subset's ${s.rows} images`] },
  checkSet: (p, set) =>
    p.k > set.trainRows ? `k = ${p.k} is more than the ${set.trainRows} training images of this set: choose k of at most ${set.trainRows}.` : null,
  create: (params, ctx) => new KnnClassifier(params, ctx),
  load: (saved) => KnnClassifier.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof KnnClassifier)) throw new LabError('invalid_input', `A knn head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
