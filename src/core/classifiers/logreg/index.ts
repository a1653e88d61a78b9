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
  create: (params, ctx) => new LogregClassifier(params, ctx),
  load: (saved) => LogregClassifier.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof LogregClassifier)) throw new LabError('invalid_input', `A logreg head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
