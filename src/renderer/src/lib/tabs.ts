/**
 * The tab a key moves to in a tab list of `n` tabs from tab `i` (WAI-ARIA tabs pattern): arrows step and
 * wrap, Home and End go to the first and last tab; null for any other key.
 */
export function tabTarget(key: string, i: number, n: number): number | null {
  if (n <= 0) return null;
  switch (key) {
    case 'ArrowRight':
      return (i + 1) % n;
    case 'ArrowLeft':
      return (i - 1 + n) % n;
    case 'Home':
      return 0;
    case 'End':
      return n - 1;
    default:
      return null;
  }
}
