/** The keras kind: a TensorFlow.js layers Sequential net trained with model.fit. */
import { defineClassifier } from '../spec';
import { KerasClassifier } from './keras';
import { kerasParams, tags, text } from './params';

export const keras = defineClassifier({
  kind: 'keras',
  text,
  params: kerasParams,
  tags,
  create: (params, ctx) => new KerasClassifier(params, ctx),
  load: (saved) => KerasClassifier.load(saved),
});
