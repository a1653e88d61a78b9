/** The logreg kind: the DINOv2 linear probe (multinomial L2 logistic regression, C on a validation split). */
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
});
