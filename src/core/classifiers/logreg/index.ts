/** The logreg kind: the DINOv2 linear probe (multinomial L2 logistic regression, C on a validation split). */
import { LabError } from '../../errors';
import { defineClassifier } from '../spec';
import { LogregClassifier } from './logreg';
import { logregParams, tags, text } from './params';

export const logreg = defineClassifier({
  kind: 'logreg',
  text,
  params: logregParams,
  tags,
  validationScore: 'best',
  labelsAreArgmaxProba: true,
  // One fit per C on the training part (warm-started) and the refit; none of the search without a split.
  fitWork: (p) => (p.cGrid.length > 1 && p.validationFraction > 0 ? p.cGrid.length + 1 : 1),
  forSubset: (params, s) =>
    s.validation
      ? { params, notes: [] }
      : { params: { ...params, validationFraction: 0, cGrid: [1] }, notes: ["fewer than 10 images per class: no validation split, C is not searched (C = 1, scikit-learn's default)"] },
  create: (params, ctx) => new LogregClassifier(params, ctx),
  load: (saved) => LogregClassifier.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof LogregClassifier)) throw new LabError('invalid_input', `A logreg head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
