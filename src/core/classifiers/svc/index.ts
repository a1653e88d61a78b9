/** The svc kind: an RBF C-SVC, one-vs-one like libsvm (scikit-learn's SVC()). */
import { LabError } from '../../errors';
import { defineClassifier } from '../spec';
import { svcParams, tags, text } from './params';
import { SVC } from './svc';

export const svc = defineClassifier({
  kind: 'svc',
  text,
  params: svcParams,
  tags,
  // SMO over the kernel matrix: fit time grows about as n^2 (scikit-learn's docs say n^2 to n^3).
  costExponent: 2,
  create: (params, ctx) => new SVC(params, ctx),
  load: (saved) => SVC.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof SVC)) throw new LabError('invalid_input', `A svc head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
