/** The mlp kind: the reference study's PyTorch-style MLP with best-epoch restore (onnxruntime or tfjs engine). */
import { LabError } from '../../errors';
import { defineClassifier } from '../spec';
import { MlpClassifier } from './mlp';
import { mlpParams, tags, text } from './params';

export const mlp = defineClassifier({
  kind: 'mlp',
  text,
  params: mlpParams,
  tags,
  validationScore: 'best',
  // The study's protocol: the best epoch is chosen on the test split, passed to fit as `validation`.
  selectsOnTest: (params) => params.selectOn === 'test',
  forSubset: (params, s) =>
    s.validation || params.validationFraction === 0
      ? { params, notes: [] }
      : { params: { ...params, validationFraction: 0 }, notes: ['fewer than 10 images per class: no validation split, best-epoch selection off (the last epoch is kept)'] },
  create: (params, ctx) => new MlpClassifier(params, ctx),
  load: (saved) => MlpClassifier.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof MlpClassifier)) throw new LabError('invalid_input', `A mlp head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
