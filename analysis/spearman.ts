/**
 * Spearman's rank correlation (Pearson's r on mid-ranks, so ties are handled exactly; Kendall &
 * Gibbons, "Rank Correlation Methods", 5th ed., §3.8) with a two-sided permutation p-value — the
 * paper's comparison of other-model with human recognizability (docs/design.md §5).
 */
import { atLeastAsExtreme, permutationP, Random } from './random.ts';

/** Mid-ranks (1-based; tied values share the mean of their positions). */
export function midRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i]! - x[j]!);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]!]! === x[idx[i]!]!) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) r[idx[t]!] = rank;
    i = j + 1;
  }
  return r;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

export interface SpearmanResult {
  rho: number;
  n: number;
  permutations: number;
  /** Two-sided: (1 + #{|ρ*| ≥ |ρ|}) / (1 + N); null without permutations or when ρ is undefined. */
  p_permutation: number | null;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>, opts: { permutations: number; seed: number }): SpearmanResult {
  if (x.length !== y.length) throw new RangeError(`spearman: ${x.length} vs ${y.length} values`);
  const rx = midRanks(x);
  const ry = midRanks(y);
  const rho = pearson(rx, ry);
  const N = opts.permutations;
  if (N <= 0 || Number.isNaN(rho)) return { rho, n: x.length, permutations: N, p_permutation: null };
  const rng = new Random(opts.seed);
  const shuffled = Float64Array.from(ry);
  let ge = 0;
  for (let r = 0; r < N; r++) {
    rng.shuffle(shuffled);
    if (atLeastAsExtreme(Math.abs(pearson(rx, shuffled)), Math.abs(rho))) ge++;
  }
  return { rho, n: x.length, permutations: N, p_permutation: permutationP(ge, N) };
}
