// Tableau 10: distinguishable in light and dark themes; classes past ten get evenly spaced hues.
const TEN = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** A stable colour for class or series i. */
export function color(i: number, n = 10): string {
  if (n <= 10) return TEN[i % 10]!;
  return `hsl(${Math.round((i * 360) / n)} 65% 55%)`;
}

/** The colour with an alpha channel (hex or hsl input). */
export function alpha(c: string, a: number): string {
  if (c.startsWith('#')) {
    const n = parseInt(c.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  return c.replace(')', ` / ${a})`);
}

// Tableau 20: ten hues in a dark and a light shade, for series that are runs.
const TWENTY = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#79706e',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#bab0ac',
];

/**
 * The colour of a run: fixed by its id, so a run has the same colour in every chart and on every page.
 * Runs 1 to 20 take Tableau 20; later ones step round the hue circle by the golden angle (137.5 degrees)
 * in two lightnesses, so run 21 is not run 1's colour again and neighbouring ids stay far apart.
 */
export function runColor(runId: number): string {
  if (runId >= 1 && runId <= 20) return TWENTY[runId - 1]!;
  const hue = (((runId * 137.508) % 360) + 360) % 360;
  return `hsl(${hue.toFixed(1)} 62% ${runId % 2 ? 46 : 60}%)`;
}
