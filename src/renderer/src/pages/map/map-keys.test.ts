import { describe, expect, it } from 'vitest';
import { arrowDirection, centralPoint, nextPoint } from './map-keys';

// Screen pixels, y down:   0 (0,0)          1 (100,0)
//                                 4 (50,50)
//                          2 (0,100)        3 (100,100)      5 (60,52)
const pts = [
  { x: 0, y: 0 },
  { x: 100, y: 0 },
  { x: 0, y: 100 },
  { x: 100, y: 100 },
  { x: 50, y: 50 },
  { x: 60, y: 52 },
];

describe('map keyboard navigation', () => {
  it('starts at the point nearest the middle', () => {
    expect(centralPoint(pts)).toBe(4);
    expect(nextPoint(pts, null, 'right')).toBe(4);
    expect(centralPoint([])).toBeNull();
    expect(nextPoint([], null, 'left')).toBeNull();
  });

  it('steps to the nearest point ahead, preferring one in line over one off to the side', () => {
    expect(nextPoint(pts, 4, 'right')).toBe(5); // 10 px ahead, 2 px aside
    expect(nextPoint(pts, 5, 'right')).toBe(3); // both corners 40 px ahead; (100,100) is 48 px aside, (100,0) 52
    expect(nextPoint(pts, 0, 'right')).toBe(1); // straight ahead beats the nearer diagonal (50,50)
    expect(nextPoint(pts, 0, 'down')).toBe(2);
    expect(nextPoint(pts, 3, 'up')).toBe(1);
    expect(nextPoint(pts, 3, 'left')).toBe(2);
    expect(nextPoint(pts, 4, 'up')).toBe(0); // (0,0) and (100,0) score alike: the lower index wins
  });

  it('stays put at the edge of the map', () => {
    expect(nextPoint(pts, 0, 'left')).toBe(0);
    expect(nextPoint(pts, 0, 'up')).toBe(0);
    expect(nextPoint(pts, 3, 'down')).toBe(3);
  });

  it('maps only the arrow keys', () => {
    expect(arrowDirection('ArrowUp')).toBe('up');
    expect(arrowDirection('ArrowLeft')).toBe('left');
    expect(arrowDirection('Enter')).toBeNull();
  });
});
