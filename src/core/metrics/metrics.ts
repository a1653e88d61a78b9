/** Precision, recall, F1 and support of one class. */
export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Classification metrics with scikit-learn's definitions and JSON keys. */
export interface ClassificationMetrics {
  accuracy: number;
  precision_weighted: number;
  recall_weighted: number;
  f1_weighted: number;
  precision_macro: number;
  recall_macro: number;
  f1_macro: number;
  /** confusion[true][predicted], classes 0..C-1 (sklearn's confusion_matrix(labels=range(C))). */
  confusion: number[][];
  per_class: ClassReport[];
}

/** Confusion matrix with rows = true class, columns = predicted class. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) throw new Error(`confusionMatrix: ${yTrue.length} labels vs ${yPred.length} predictions`);
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i]!;
    const p = yPred[i]!;
    if (t < 0 || t >= numClasses || p < 0 || p >= numClasses) {
      throw new Error(`confusionMatrix: label ${t} / prediction ${p} outside 0..${numClasses - 1}`);
    }
    cm[t]![p]!++;
  }
  return cm;
}

/** Fraction of exact matches (sklearn accuracy_score). */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length === 0) return 0;
  let ok = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / yTrue.length;
}

/**
 * All metrics over labels 0..C-1, as sklearn with labels=range(C) and zero_division=0: a class that is never
 * predicted has precision 0, a class absent from y_true has recall 0 (and weight 0 in the weighted average),
 * and F1 is 0 where precision + recall is 0. Macro averages include every class.
 */
export function classificationMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ClassificationMetrics {
  const cm = confusionMatrix(yTrue, yPred, numClasses);
  const per: ClassReport[] = [];
  for (let c = 0; c < numClasses; c++) {
    const tp = cm[c]![c]!;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < numClasses; j++) {
      support += cm[c]![j]!;
      predicted += cm[j]![c]!;
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    // sklearn computes F1 from tp/fp/fn (2tp / (2tp + fp + fn)), which equals the harmonic mean when defined.
    const denom = 2 * tp + (predicted - tp) + (support - tp);
    const f1 = denom > 0 && tp > 0 ? (2 * tp) / denom : 0;
    per.push({ precision, recall, f1, support });
  }
  const n = yTrue.length;
  const mean = (k: keyof ClassReport): number => (numClasses ? per.reduce((s, r) => s + r[k], 0) / numClasses : 0);
  const weighted = (k: keyof ClassReport): number => (n ? per.reduce((s, r) => s + r[k] * r.support, 0) / n : 0);
  return {
    accuracy: accuracy(yTrue, yPred),
    precision_weighted: weighted('precision'),
    recall_weighted: weighted('recall'),
    f1_weighted: weighted('f1'),
    precision_macro: mean('precision'),
    recall_macro: mean('recall'),
    f1_macro: mean('f1'),
    confusion: cm,
    per_class: per,
  };
}

/** The scalar metric keys (for comparison tables). */
export const METRIC_KEYS = [
  'accuracy',
  'precision_weighted',
  'recall_weighted',
  'f1_weighted',
  'precision_macro',
  'recall_macro',
  'f1_macro',
] as const;
