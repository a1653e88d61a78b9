/** What a run's epoch logs and params say about model selection: its validation score, whether it selected on test. */
import { isClassifierKind } from '../../shared/contract';
import { getSpec } from '../classifiers/registry';
import type { EpochLog } from '../classifiers/types';

/** True when the run chose its best epoch on the test split (the study's leaky recipe, an explicit option). */
export const selectsOnTest = (r: { kind: string; params: Record<string, unknown> }): boolean => {
  if (!isClassifierKind(r.kind)) return false;
  const spec = getSpec(r.kind);
  try {
    return spec.selectsOnTest?.(spec.params.parse(r.params)) ?? false;
  } catch {
    return false;
  }
};

/** The fitted model's validation accuracy from its epoch logs (best or last, as its kind declares); null without one. */
export function validationAccuracy(r: { kind: string; params: Record<string, unknown>; epochs: EpochLog[] }): number | null {
  if (selectsOnTest(r)) return null; // its "validation" is the test split
  const vals = r.epochs.map((e) => e.val_accuracy).filter((v): v is number => typeof v === 'number');
  if (!vals.length) return null;
  const how = isClassifierKind(r.kind) ? (getSpec(r.kind).validationScore ?? 'last') : 'last';
  return how === 'best' ? Math.max(...vals) : vals[vals.length - 1]!;
}

