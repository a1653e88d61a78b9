/** Result of an L-BFGS minimisation. */
export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  converged: boolean;
}

/**
 * Minimises a smooth function with L-BFGS (two-loop recursion, history m) and a backtracking line search
 * satisfying the Armijo condition. Stops when max |grad| <= gtol (scipy's pgtol for an unbounded problem),
 * when the relative decrease of f falls under ftol, or after maxIter iterations.
 */
export async function lbfgs(
  fg: (x: Float64Array) => Promise<{ f: number; g: Float64Array }>,
  x0: Float64Array,
  opts: { maxIter: number; gtol: number; ftol?: number; m?: number; signal?: AbortSignal },
): Promise<LbfgsResult> {
  const n = x0.length;
  const m = opts.m ?? 10;
  const ftol = opts.ftol ?? 64 * 2.220446049250313e-16;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let x = Float64Array.from(x0);
  let { f, g } = await fg(x);
  const maxAbs = (v: Float64Array): number => v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  let it = 0;
  if (maxAbs(g) <= opts.gtol) return { x, f, iterations: 0, converged: true };
  for (; it < opts.maxIter; it++) {
    if (opts.signal?.aborted) break;
    // Two-loop recursion: d = -H g.
    const q = Float64Array.from(g);
    const alpha = new Array<number>(S.length);
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(S[i]!, q);
      const yi = Y[i]!;
      for (let j = 0; j < n; j++) q[j] = q[j]! - alpha[i]! * yi[j]!;
    }
    const gamma = S.length
      ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!)
      : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let j = 0; j < n; j++) q[j] = q[j]! * gamma;
    for (let i = 0; i < S.length; i++) {
      const beta = rho[i]! * dot(Y[i]!, q);
      const si = S[i]!;
      for (let j = 0; j < n; j++) q[j] = q[j]! + (alpha[i]! - beta) * si[j]!;
    }
    const d = q.map((v) => -v);
    let gd = dot(g, d);
    if (gd >= 0) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let j = 0; j < n; j++) d[j] = -g[j]!;
      gd = dot(g, d);
    }
    let step = 1;
    const xn = new Float64Array(n);
    let res = { f: Infinity, g };
    for (let ls = 0; ls < 50; ls++) {
      for (let j = 0; j < n; j++) xn[j] = x[j]! + step * d[j]!;
      res = await fg(xn);
      if (Number.isFinite(res.f) && res.f <= f + 1e-4 * step * gd) break;
      step *= 0.5;
    }
    if (!(res.f <= f)) break;
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = xn[j]! - x[j]!;
      yv[j] = res.g[j]! - g[j]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    const fOld = f;
    x = xn;
    f = res.f;
    g = res.g;
    if (maxAbs(g) <= opts.gtol) return { x, f, iterations: it + 1, converged: true };
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= ftol) return { x, f, iterations: it + 1, converged: true };
  }
  return { x, f, iterations: it, converged: false };
}
