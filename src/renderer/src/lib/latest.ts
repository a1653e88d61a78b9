/**
 * Guards a store's reloads against answers arriving out of order: `const ok = guard(); await call; if (!ok()) return;`
 * lets only the most recently started reload write its result (an older, slower one would bring back stale state).
 */
export function latestOnly(): () => () => boolean {
  let seq = 0;
  return () => {
    const mine = ++seq;
    return () => mine === seq;
  };
}
