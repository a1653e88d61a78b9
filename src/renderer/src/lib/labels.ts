/**
 * Short labels for class names on a chart axis that stay distinct: a name longer than `max` is cut to
 * `max - 1` characters plus "…"; where two cut names would read the same, both keep their head and tail
 * (`maple…tree`, `maple…wood`), and where that still collides, the full name is kept.
 */
export function distinctLabels(names: string[], max = 8): string[] {
  const cut = (s: string): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
  const headTail = (s: string): string => {
    if (s.length <= max) return s;
    const tail = Math.max(2, Math.floor((max - 1) / 2));
    return `${s.slice(0, max - 1 - tail)}…${s.slice(-tail)}`;
  };
  let out = names.map(cut);
  for (const f of [headTail, (s: string) => s]) {
    const counts = new Map<string, number>();
    for (const l of out) counts.set(l, (counts.get(l) ?? 0) + 1);
    if ([...counts.values()].every((n) => n === 1)) return out;
    out = out.map((l, i) => (counts.get(l)! > 1 ? f(names[i]!) : l));
  }
  // Equal class names (a dataset may have them): number the repeats.
  const seen = new Map<string, number>();
  return out.map((l) => {
    const n = (seen.get(l) ?? 0) + 1;
    seen.set(l, n);
    return n > 1 ? `${l} (${n})` : l;
  });
}
