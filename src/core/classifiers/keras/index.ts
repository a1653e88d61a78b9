/** The keras kind: the study's Keras net (tfjs layers' recipe), trained on the mlp's engines (onnxruntime, else tfjs). */
import { LabError } from '../../errors';
import { defineClassifier } from '../spec';
import { KerasClassifier } from './keras';
import { kerasParams, tags, text } from './params';

export const keras = defineClassifier({
  kind: 'keras',
  text,
  params: kerasParams,
  tags,
  forSubset: (params, s) =>
    s.validation || params.validationFraction === 0
      ? { params, notes: [] }
      : { params: { ...params, validationFraction: 0 }, notes: ['fewer than 10 images per class: no validation split (no val_loss / val_accuracy)'] },
  create: (params, ctx) => new KerasClassifier(params, ctx),
  load: (saved) => KerasClassifier.load(saved),
  exportHead: (clf, io) => {
    if (!(clf instanceof KerasClassifier)) throw new LabError('invalid_input', `A keras head cannot be built from a ${clf.kind} classifier.`);
    return clf.onnxHead(io);
  },
});
