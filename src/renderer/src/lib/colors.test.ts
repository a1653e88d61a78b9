import { describe, expect, it } from 'vitest';
import { alpha, runColor } from './colors';

describe('run colours', () => {
  it('differ for every run id up to 500 (a chart of 20+ runs never shows two runs in one colour)', () => {
    const seen = new Map<string, number>();
    for (let id = 1; id <= 500; id++) {
      const c = runColor(id);
      expect(seen.get(c), `run ${id} has run ${seen.get(c)}'s colour ${c}`).toBeUndefined();
      seen.set(c, id);
    }
  });

  it('keep Tableau 20 for runs 1 to 20, and give later runs hues far from their neighbours', () => {
    expect(runColor(1)).toBe('#4e79a7');
    expect(runColor(20)).toBe('#bab0ac');
    const hue = (id: number): number => Number(/^hsl\(([\d.]+) /.exec(runColor(id))![1]);
    for (let id = 21; id < 200; id++) {
      const d = Math.abs(hue(id) - hue(id + 1));
      expect(Math.min(d, 360 - d)).toBeGreaterThan(100);
    }
    expect(alpha(runColor(21), 0.5)).toMatch(/^hsl\([\d.]+ 62% \d+% \/ 0.5\)$/);
  });
});
