/**
 * What a classifier kind is, declared once in its own folder (`classifiers/<kind>/index.ts`) and listed
 * by one line in `registry.ts`. Nothing outside `classifiers/<kind>/` and the contract tests a kind by
 * name: callers read these fields instead.
 */
import type { z } from 'zod';
import type { ClassifierKind } from '../../shared/contract';
import type { HeadGraph, HeadIo } from './head-graph';
import type { Classifier, SavedModel } from './types';

/** Facts about a kind that the engine and the UI act on. */
export interface ClassifierTags {
  /** Trains in epochs and reports one EpochLog per epoch (its curves have an epoch axis). */
  epochs: boolean;
  /**
   * Its saved model is its training set (k-NN): a run stores a reference to the embedding set instead
   * of a copy of the vectors, under `state.train` -> `state.trainFromSet`.
   */
  keepsTrainingSetByReference: boolean;
  /**
   * Where its work runs when a fitted model does not say more: 'onnxruntime' (its CPU provider, with
   * TensorFlow.js where onnxruntime-node is absent), 'tfjs' (a TensorFlow.js backend) or 'js'.
   */
  engine: 'onnxruntime' | 'tfjs' | 'js';
}

/** Shown in the UI: the tab, the panel's title and one sentence on what it is. */
export interface ClassifierText {
  title: string;
  tab: string;
  blurb: string;
}

/** What a run's params are checked against before it is queued: the chosen set's size. */
export interface SetShape {
  /** Training vectors of the set (those the classifier is fitted on). */
  trainRows: number;
  testRows: number;
  numClasses: number;
}

/** A classifier kind's declaration. `params` is a zod object whose fields carry `.meta({ label, description })`. */
export interface ClassifierSpec<K extends ClassifierKind = ClassifierKind, P extends object = object> {
  kind: K;
  text: ClassifierText;
  params: z.ZodType<P>;
  tags: ClassifierTags;
  /**
   * True when these params ask to select the best epoch on the test split (the study's protocol): the
   * run then passes the test set as fit's `validation`. Kinds without the option leave it out.
   */
  selectsOnTest?(params: P): boolean;
  /**
   * Why these params cannot work on a set of this shape, in one sentence with the limit (e.g. k larger than
   * the training set); null when they can. Checked when a run is started, so it fails at once, not later.
   */
  checkSet?(params: P, set: SetShape): string | null;
  /**
   * Which epoch log's `val_accuracy` is the fitted model's validation score: 'best' for kinds that keep the
   * best epoch (or the best C), 'last' (the default) for kinds whose final model is the last epoch's.
   */
  validationScore?: 'best' | 'last';
  /**
   * The params for a small training subset (label-efficiency sweeps): `validation` false means there are too
   * few images per class for a validation split (the kind turns its hold-out off), `rows` is the subset's
   * size (a kind bounded by it, k-NN's k, is clamped). Returns the params and one note per change.
   * Kinds without validation or bounds leave it out.
   */
  forSubset?(params: P, subset: { rows: number; validation: boolean }): { params: P; notes: string[] };
  /**
   * How its fit time grows with the training rows n (time ~ n^costExponent x dim): 1 when absent (epochs
   * over the data), 2 for a kernel SVC (its kernel matrix). Used for the pre-start estimate.
   */
  costExponent?: number;
  /**
   * The fit's amount of work under these params, relative (the C grid's fits for logreg): the estimate
   * scales a measured fit by this over the measured run's. Kinds that train in epochs (tags.epochs) use
   * their `epochs` param without declaring it; absent otherwise (1).
   */
  fitWork?(params: P): number;
  /**
   * How its prediction time per row grows with the training rows n (time ~ n^predictCostExponent x dim):
   * 0 when absent (a fixed-size model), 1 for kinds that compare every row with the training set or its
   * support vectors (k-NN, kernel SVC). Used for the pre-start estimate.
   */
  predictCostExponent?: number;
  /**
   * True when predict() is exactly argmax(predictProba()) (first maximum, as argmaxRows): a run then takes
   * the test labels from the probabilities it already has instead of predicting the test split twice.
   * Absent or false (the SVC: one-vs-one votes, not its Platt probabilities): predict() is called.
   */
  labelsAreArgmaxProba?: boolean;
  /**
   * True when a run's predictProba() then predict() of the test split cost one scoring pass, not two (the
   * SVC reuses its decision values). Implied by labelsAreArgmaxProba. Used for the pre-start estimate.
   */
  scoresTestOnce?: boolean;
  /** An unfitted classifier with validated params. */
  create(params: P, ctx: { numClasses: number; seed: number }): Classifier<P>;
  /** A fitted classifier from what its toJSON() returned. */
  load(saved: SavedModel): Classifier<P>;
  /**
   * The fitted classifier as an ONNX head (its `onnx-head.ts`): float32 embeddings [batch, D] in,
   * `label` int64 [batch] and `probabilities` [batch, C] (or `decision_values`) out, the same values the
   * classifier gives. LabError('invalid_input') for a classifier of another kind or not fitted.
   */
  exportHead(clf: Classifier<P>, io: HeadIo): HeadGraph;
}

/** Declares a kind (keeps the params type tied to the schema). */
export function defineClassifier<K extends ClassifierKind, P extends object>(spec: ClassifierSpec<K, P>): ClassifierSpec<K, P> {
  return spec;
}
