import { describe, expect, it } from 'vitest';
import { classificationMetrics } from './metrics';

// Reference numbers from scikit-learn 1.2.1 (Debian python3-sklearn):
//   accuracy_score(t, p); precision_recall_fscore_support(t, p, labels=list(range(C)), average=...,
//   zero_division=0); confusion_matrix(t, p, labels=list(range(C))).
describe('classificationMetrics matches scikit-learn', () => {
  it('balanced 4-class case', () => {
    const t = [0, 1, 2, 2, 1, 0, 3, 3, 3, 1, 2, 0];
    const p = [0, 2, 2, 2, 1, 1, 3, 0, 3, 1, 1, 0];
    const m = classificationMetrics(t, p, 4);
    expect(m.accuracy).toBeCloseTo(0.6666666666666666, 12);
    expect(m.precision_weighted).toBeCloseTo(0.7083333333333334, 12);
    expect(m.recall_weighted).toBeCloseTo(0.6666666666666666, 12);
    expect(m.f1_weighted).toBeCloseTo(0.6761904761904761, 12);
    expect(m.precision_macro).toBeCloseTo(0.7083333333333333, 12);
    expect(m.recall_macro).toBeCloseTo(0.6666666666666666, 12);
    expect(m.f1_macro).toBeCloseTo(0.6761904761904762, 12);
    expect(m.confusion).toEqual([
      [2, 1, 0, 0],
      [0, 2, 1, 0],
      [0, 1, 2, 0],
      [1, 0, 0, 2],
    ]);
    const f1 = [0.6666666666666666, 0.5714285714285715, 0.6666666666666666, 0.8];
    m.per_class.forEach((r, c) => {
      expect(r.f1).toBeCloseTo(f1[c]!, 12);
      expect(r.support).toBe(3);
    });
    expect(m.per_class[3]!.precision).toBe(1);
  });

  it('classes never predicted and classes absent from y_true (zero_division=0)', () => {
    // class 3: present, never predicted; class 4: absent, predicted; class 5: absent, never predicted.
    const t = [0, 0, 1, 1, 2, 2, 3, 3, 3, 1, 0, 2];
    const p = [0, 1, 1, 1, 2, 0, 0, 1, 2, 4, 0, 4];
    const m = classificationMetrics(t, p, 6);
    expect(m.accuracy).toBeCloseTo(0.4166666666666667, 12);
    expect(m.precision_weighted).toBeCloseTo(0.375, 12);
    expect(m.recall_weighted).toBeCloseTo(0.4166666666666667, 12);
    expect(m.f1_weighted).toBeCloseTo(0.38571428571428573, 12);
    expect(m.precision_macro).toBeCloseTo(0.25, 12);
    expect(m.recall_macro).toBeCloseTo(0.27777777777777773, 12);
    expect(m.f1_macro).toBeCloseTo(0.2571428571428572, 12);
    expect(m.per_class.map((r) => r.precision)).toEqual([0.5, 0.5, 0.5, 0, 0, 0]);
    const rec = [0.6666666666666666, 0.6666666666666666, 0.3333333333333333, 0, 0, 0];
    const f1 = [0.5714285714285715, 0.5714285714285715, 0.4, 0, 0, 0];
    m.per_class.forEach((r, c) => {
      expect(r.recall).toBeCloseTo(rec[c]!, 12);
      expect(r.f1).toBeCloseTo(f1[c]!, 12);
    });
    expect(m.per_class.map((r) => r.support)).toEqual([3, 3, 3, 3, 0, 0]);
    expect(m.confusion).toEqual([
      [2, 1, 0, 0, 0, 0],
      [0, 2, 0, 0, 1, 0],
      [1, 0, 1, 0, 1, 0],
      [1, 1, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
  });

  it('rejects labels outside 0..C-1', () => {
    expect(() => classificationMetrics([0, 5], [0, 1], 3)).toThrow(/outside/);
  });
});
