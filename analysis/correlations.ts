/**
 * The three correlations reported for other-model vs human recognizability across conditions:
 * Pearson's r (with R² = r², the share of variance the paper's scatter plots summarise), Spearman's
 * ρ (Pearson's r on mid-ranks) and Kendall's τ_b (ties corrected: Kendall & Gibbons, "Rank
 * Correlation Methods", 5th ed., §3.3). Each gets a two-sided permutation p-value,
 * (1 + #{|stat*| ≥ |stat|}) / (1 + N), from the same N shuffles of y (Phipson & Smyth 2010).
 */
import { atLeastAsExtreme, permutationP, Random } from './random.ts';
import { midRanks, pearson, type SpearmanResult } from './spearman.ts';

export interface PearsonResult {
  r: number;
  r2: number;
  n: number;
  permutations: number;
  p_permutation: number | null;
}

export interface KendallResult {
  tau_b: number;
  n: number;
  permutations: number;
  p_permutation: number | null;
}

export interface Correlations {
  pearson: PearsonResult;
  spearman: SpearmanResult;
  kendall: KendallResult;
}

/** Kendall's τ_b of x and y[order[i]] (order: a permutation of 0..n−1, or null for identity). */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>, order: Int32Array | null = null): number {
  const n = x.length;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[order ? order[i]! : i]!;
    for (let j = i + 1; j < n; j++) {
      const dx = x[i]! - x[j]!;
      const dy = yi - y[order ? order[j]! : j]!;
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      const s = dx * dy;
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const den = Math.sqrt((pairs - tiesX) * (pairs - tiesY));
  return den > 0 ? (concordant - discordant) / den : NaN;
}

function pearsonOrdered(x: Float64Array, y: Float64Array, order: Int32Array, buf: Float64Array): number {
  for (let i = 0; i < order.length; i++) buf[i] = y[order[i]!]!;
  return pearson(x, buf);
}

export function correlations(x: ArrayLike<number>, y: ArrayLike<number>, opts: { permutations: number; seed: number }): Correlations {
  if (x.length !== y.length) throw new RangeError(`correlations: ${x.length} vs ${y.length} values`);
  const n = x.length;
  const xv = Float64Array.from(x);
  const yv = Float64Array.from(y);
  const rx = midRanks(xv);
  const ry = midRanks(yv);
  const r = pearson(xv, yv);
  const rho = pearson(rx, ry);
  const tau = kendallTauB(xv, yv);
  const N = opts.permutations;
  const counts = [0, 0, 0];
  if (N > 0) {
    // One shuffle of indices serves all three statistics (the same draws as spearman()).
    const rng = new Random(opts.seed);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const buf = new Float64Array(n);
    for (let k = 0; k < N; k++) {
      rng.shuffle(order);
      if (atLeastAsExtreme(Math.abs(pearsonOrdered(xv, yv, order, buf)), Math.abs(r))) counts[0]!++;
      if (atLeastAsExtreme(Math.abs(pearsonOrdered(rx, ry, order, buf)), Math.abs(rho))) counts[1]!++;
      if (atLeastAsExtreme(Math.abs(kendallTauB(xv, yv, order)), Math.abs(tau))) counts[2]!++;
    }
  }
  const p = (stat: number, count: number): number | null => (N > 0 && !Number.isNaN(stat) ? permutationP(count, N) : null);
  return {
    pearson: { r, r2: r * r, n, permutations: N, p_permutation: p(r, counts[0]!) },
    spearman: { rho, n, permutations: N, p_permutation: p(rho, counts[1]!) },
    kendall: { tau_b: tau, n, permutations: N, p_permutation: p(tau, counts[2]!) },
  };
}
