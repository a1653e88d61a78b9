import { describe, expect, it } from 'vitest';
import { tabTarget } from './tabs';

describe('tab keys', () => {
  it('arrows step and wrap; Home and End go to the ends; other keys do nothing', () => {
    expect(tabTarget('ArrowRight', 4, 5)).toBe(0);
    expect(tabTarget('ArrowLeft', 0, 5)).toBe(4);
    expect(tabTarget('Home', 3, 5)).toBe(0);
    expect(tabTarget('End', 1, 5)).toBe(4);
    expect(tabTarget('a', 1, 5)).toBeNull();
    expect(tabTarget('End', 0, 0)).toBeNull();
  });
});
