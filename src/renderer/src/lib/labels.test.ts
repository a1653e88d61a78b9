import { describe, expect, it } from 'vitest';
import { distinctLabels } from './labels';

describe('distinctLabels', () => {
  it('keeps short names and cuts long ones', () => {
    expect(distinctLabels(['cat', 'automobile', 'dog'])).toEqual(['cat', 'automob…', 'dog']);
  });
  it('never makes two labels the same (CIFAR-100 names that share their first letters)', () => {
    const names = ['maple_tree', 'maple_wood', 'oak_tree', 'palm_tree', 'pine_tree', 'willow_tree', 'sweet_pepper', 'sweet_potato', 'same', 'same'];
    const out = distinctLabels(names);
    expect(new Set(out).size).toBe(names.length);
    expect(out[0]).not.toBe(out[1]);
    for (const l of out) expect(l.length).toBeLessThanOrEqual(12);
  });
  it('the old cut (7 characters and …) collided on these names', () => {
    const old = (s: string): string => (s.length > 8 ? `${s.slice(0, 7)}…` : s);
    expect(old('sweet_pepper')).toBe(old('sweet_potato'));
    const [a, b] = distinctLabels(['sweet_pepper', 'sweet_potato']);
    expect(a).not.toBe(b);
  });
});
