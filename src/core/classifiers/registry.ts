/**
 * Every classifier kind, one line each: a kind is its folder (`classifiers/<kind>/`, whose index.ts
 * declares its spec) plus its line here and its name in the contract's enum.
 */
import { CLASSIFIER_KINDS, isClassifierKind, type ClassifierKind } from '../../shared/contract';
import { LabError } from '../errors';
import { keras } from './keras';
import { knn } from './knn';
import { logreg } from './logreg';
import { mlp } from './mlp';
import { ParamsError, parseParams } from './params-helpers';
import type { ClassifierSpec } from './spec';
import { svc } from './svc';
import type { Classifier, ClassifierContext, SavedModel } from './types';

/** The spec of each kind. */
export const CLASSIFIER_SPECS: { readonly [K in ClassifierKind]: ClassifierSpec<K> } = {
  mlp,
  keras,
  svc,
  logreg,
  knn,
};

/** The specs in the contract's order of kinds. */
export function allSpecs(): ClassifierSpec[] {
  return CLASSIFIER_KINDS.map((k) => getSpec(k));
}

/** The spec of a kind. */
export function getSpec(kind: ClassifierKind): ClassifierSpec {
  return CLASSIFIER_SPECS[kind];
}

/** Validates params (defaults filled in) and builds an unfitted classifier; LabError('invalid_input') on bad params. */
export function createClassifier(kind: string, params: unknown, ctx: ClassifierContext): Classifier<object> {
  if (!isClassifierKind(kind)) {
    throw new LabError('invalid_input', `Unknown classifier "${kind}": use one of ${CLASSIFIER_KINDS.join(', ')}.`);
  }
  if (!Number.isInteger(ctx.numClasses) || ctx.numClasses < 2) {
    throw new LabError('invalid_input', `A classifier needs at least 2 classes (got ${ctx.numClasses}).`);
  }
  const spec = getSpec(kind);
  try {
    return spec.create(parseParams(spec, params), ctx);
  } catch (err) {
    if (err instanceof ParamsError) throw new LabError('invalid_input', err.message, { issues: err.issues });
    throw err;
  }
}

/** Validates a kind's params against its spec, defaults filled in; LabError('invalid_input') on bad params. */
export function validateParams(kind: ClassifierKind, params: unknown): object {
  try {
    return parseParams(getSpec(kind), params);
  } catch (err) {
    if (err instanceof ParamsError) throw new LabError('invalid_input', err.message, { issues: err.issues });
    throw err;
  }
}

/** A kind's params adapted to a small training subset (see ClassifierSpec.forSubset), validated, with notes. */
export function paramsForSubset(kind: ClassifierKind, params: unknown, subset: { rows: number; validation: boolean }): { params: object; notes: string[] } {
  const spec = getSpec(kind);
  const p = validateParams(kind, params);
  return spec.forSubset ? spec.forSubset(p, subset) : { params: p, notes: [] };
}

/** Rebuilds a fitted classifier from its SavedModel (as stored in the artifacts table). */
export function loadClassifier(saved: SavedModel): Classifier<object> {
  if (!isClassifierKind(saved.kind)) {
    throw new LabError('bad_format', `This saved model is of an unknown kind "${saved.kind}"; it was written by another DINO Lab version.`);
  }
  return getSpec(saved.kind).load(saved);
}
