import { CLASSIFIER_KINDS, isClassifierKind, parseParams, ParamsError, type ClassifierKind } from '../../shared/classifier-params';
import { LabError } from '../errors';
import { KerasClassifier } from './keras';
import { KnnClassifier } from './knn';
import { LogregClassifier } from './logreg';
import { MlpClassifier } from './mlp';
import { SVC } from './svc';
import type { Classifier, SavedModel } from './types';

/** What every kind needs to be built: the number of classes and the seed of its randomness. */
export interface ClassifierContext {
  numClasses: number;
  seed: number;
}

/** Kinds that run on TensorFlow.js (their runs record the tfjs backend). */
export const TFJS_KINDS: readonly ClassifierKind[] = ['mlp', 'keras'];

/** Validates params (defaults filled in) and builds an unfitted classifier; LabError('invalid_input') on bad params. */
export function createClassifier(kind: string, params: unknown, ctx: ClassifierContext): Classifier<object> {
  if (!isClassifierKind(kind)) {
    throw new LabError('invalid_input', `Unknown classifier "${kind}": use one of ${CLASSIFIER_KINDS.join(', ')}.`);
  }
  if (!Number.isInteger(ctx.numClasses) || ctx.numClasses < 2) {
    throw new LabError('invalid_input', `A classifier needs at least 2 classes (got ${ctx.numClasses}).`);
  }
  try {
    switch (kind) {
      case 'mlp':
        return new MlpClassifier(parseParams('mlp', params), ctx.numClasses, ctx.seed);
      case 'keras':
        return new KerasClassifier(parseParams('keras', params), ctx.numClasses, ctx.seed);
      case 'svc':
        return new SVC(parseParams('svc', params), ctx);
      case 'logreg':
        return new LogregClassifier(parseParams('logreg', params), ctx.numClasses, ctx.seed);
      case 'knn':
        return new KnnClassifier(parseParams('knn', params), ctx.numClasses);
    }
  } catch (err) {
    if (err instanceof ParamsError) throw new LabError('invalid_input', err.message, { issues: err.issues });
    throw err;
  }
}

/** Rebuilds a fitted classifier from its SavedModel (as stored in the artifacts table). */
export function loadClassifier(saved: SavedModel): Classifier<object> {
  switch (saved.kind) {
    case 'mlp':
      return MlpClassifier.load(saved);
    case 'keras':
      return KerasClassifier.load(saved);
    case 'svc':
      return SVC.load(saved);
    case 'logreg':
      return LogregClassifier.load(saved);
    case 'knn':
      return KnnClassifier.load(saved);
    default:
      throw new LabError('bad_format', `This saved model is of an unknown kind "${saved.kind}"; it was written by another DINO Lab version.`);
  }
}
