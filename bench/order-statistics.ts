/** Median and nearest-rank quantiles of the browser benches' samples (NaN for none). */

export { median } from '../analysis/descriptive.ts';

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}
