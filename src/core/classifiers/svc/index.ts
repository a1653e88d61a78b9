/** The svc kind: an RBF C-SVC, one-vs-one like libsvm (scikit-learn's SVC()). */
import { defineClassifier } from '../spec';
import { svcParams, tags, text } from './params';
import { SVC } from './svc';

export const svc = defineClassifier({
  kind: 'svc',
  text,
  params: svcParams,
  tags,
  create: (params, ctx) => new SVC(params, ctx),
  load: (saved) => SVC.load(saved),
});
