/**
 * Descriptive statistics over typed arrays. Conventions follow docs/design.md §4: the SEM uses the sample SD
 * (n − 1); quantiles use Hyndman & Fan's (1996) type 7 (linear interpolation between order
 * statistics; the default of R's `quantile` and NumPy's `percentile`), so that CIs can be re-derived
 * in either tool from the same bootstrap draws.
 */

export function mean(x: ArrayLike<number>): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN below two values. */
export function sampleSd(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  const m = mean(x);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i]! - m) ** 2;
  return Math.sqrt(ss / (n - 1));
}

/** Standard error of the mean with the sample SD; NaN below two values. */
export function sem(x: ArrayLike<number>): number {
  return sampleSd(x) / Math.sqrt(x.length);
}

/** Type-7 quantile of values already sorted ascending; NaN for an empty array. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The median (the type-7 quantile at ½: the mean of the two middle values for an even count); NaN for none. */
export function median(x: ArrayLike<number>): number {
  return quantileSorted(Float64Array.from(x).sort(), 0.5);
}
