/**
 * Keyboard navigation of the embedding map: an arrow key moves to the nearest point in that direction on
 * screen. Pure, so it is tested without a chart.
 */

/** A point in screen pixels (y grows downwards, as on the canvas). */
export interface ScreenPoint {
  x: number;
  y: number;
}

/** The arrow keys the map answers to. */
export type Direction = 'left' | 'right' | 'up' | 'down';

/** The direction of an arrow key, or null for any other key. */
export function arrowDirection(key: string): Direction | null {
  switch (key) {
    case 'ArrowLeft':
      return 'left';
    case 'ArrowRight':
      return 'right';
    case 'ArrowUp':
      return 'up';
    case 'ArrowDown':
      return 'down';
    default:
      return null;
  }
}

// Sideways distance counts this many times the distance along the key's direction: a point straight
// ahead wins over a slightly nearer one far off to the side, so repeated presses travel in a line.
const SIDEWAYS_WEIGHT = 2;

/** The point closest to the middle of all points: where navigation starts when nothing is highlighted. */
export function centralPoint(points: readonly ScreenPoint[]): number | null {
  if (points.length === 0) return null;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (const p of points) {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  let best = 0;
  let bestD = Infinity;
  points.forEach((p, i) => {
    const d = (p.x - cx) ** 2 + (p.y - cy) ** 2;
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}

/**
 * The index of the point an arrow key moves to from `from` (null: start at the central point). Only points
 * strictly ahead in that direction count; among them the lowest `ahead + 2 * sideways` wins, ties to the
 * lower index. Returns `from` itself when nothing lies ahead (the edge of the map).
 */
export function nextPoint(points: readonly ScreenPoint[], from: number | null, dir: Direction): number | null {
  if (points.length === 0) return null;
  const start = from === null ? undefined : points[from];
  if (start === undefined) return centralPoint(points);
  let best = from!;
  let bestScore = Infinity;
  points.forEach((p, i) => {
    const dx = p.x - start.x;
    const dy = p.y - start.y;
    const ahead = dir === 'right' ? dx : dir === 'left' ? -dx : dir === 'down' ? dy : -dy;
    const side = dir === 'left' || dir === 'right' ? Math.abs(dy) : Math.abs(dx);
    if (ahead <= 0) return;
    const score = ahead + SIDEWAYS_WEIGHT * side;
    if (score < bestScore) [best, bestScore] = [i, score];
  });
  return best;
}
