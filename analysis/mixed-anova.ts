/**
 * Mixed ANOVA with one between-subjects factor (group; here the observer: human or model) and one
 * within-subjects factor (here the layer), with permutation p-values — the paper's human-vs-model
 * test (docs/design.md §5).
 *
 * Decomposition (Maxwell & Delaney, 2nd ed., ch. 12, split-plot design; weighted group means, exact
 * for unequal group sizes with a single between factor): SS_G and SS_S(G) between subjects,
 * SS_B, SS_G×B and SS_B×S(G) within; G is tested against S(G), B and G×B against B×S(G).
 * Permutations (Anderson & ter Braak 2003): G and G×B shuffle whole subjects between groups
 * (group sizes kept; null: the group makes no difference at any level of B); B permutes the levels
 * within each subject.
 *
 * Data layout: y[s * b + j] for subject s and level j; group[s] in 0..g−1; complete data.
 */
import { anovaEffect, type BasicEffect, fRatio, type PermutationOptions } from './anova-effect.ts';
import { atLeastAsExtreme, permutationP, Random } from './random.ts';

export interface MixedAnovaResult {
  n_subjects: number;
  group_sizes: number[];
  levels: number;
  permutations: number;
  effects: BasicEffect[];
}

export function mixedAnova(
  y: Float64Array,
  group: Int32Array,
  g: number,
  b: number,
  names: readonly [string, string],
  opts: PermutationOptions,
): MixedAnovaResult {
  const n = group.length;
  if (y.length !== n * b) throw new RangeError(`mixedAnova: ${y.length} values for ${n} subjects × ${b} levels`);
  const sizes = new Array<number>(g).fill(0);
  for (let s = 0; s < n; s++) {
    const gi = group[s]!;
    if (gi < 0 || gi >= g) throw new RangeError(`mixedAnova: group ${gi} of subject ${s} is outside 0..${g - 1}`);
    sizes[gi]!++;
  }
  if (g < 2 || b < 2 || sizes.some((x) => x < 1) || n - g < 1) {
    throw new RangeError(
      `mixedAnova needs ≥ 2 groups, ≥ 2 levels and more subjects than groups (got sizes ${sizes.join('/')}, ${b} levels)`,
    );
  }
  let G = 0;
  for (let i = 0; i < n * b; i++) G += y[i]!;
  G /= n * b;
  const sMean = new Float64Array(n);
  const bMean = new Float64Array(b);
  let T = 0;
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < b; j++) {
      const v = y[s * b + j]!;
      sMean[s]! += v;
      bMean[j]! += v;
      T += (v - G) ** 2;
    }
  }
  for (let s = 0; s < n; s++) sMean[s]! /= b;
  for (let j = 0; j < b; j++) bMean[j]! /= n;
  let SSsubj = 0;
  for (let s = 0; s < n; s++) SSsubj += (sMean[s]! - G) ** 2;
  SSsubj *= b;
  let SSB = 0;
  for (let j = 0; j < b; j++) SSB += (bMean[j]! - G) ** 2;
  SSB *= n;
  const SSwithin = T - SSsubj;

  const cellSum = new Float64Array(g * b);
  // SS_G and SS_G×B from group × level sums; the rest follows by subtraction from invariants.
  const groupTerms = (labels: Int32Array): { SSG: number; SSGB: number } => {
    cellSum.fill(0);
    for (let s = 0; s < n; s++) {
      const base = labels[s]! * b;
      for (let j = 0; j < b; j++) cellSum[base + j]! += y[s * b + j]!;
    }
    let SSG = 0;
    let SSGB = 0;
    for (let gi = 0; gi < g; gi++) {
      const ng = sizes[gi]!;
      let gSum = 0;
      for (let j = 0; j < b; j++) gSum += cellSum[gi * b + j]!;
      const gMean = gSum / (ng * b);
      SSG += ng * (gMean - G) ** 2;
      for (let j = 0; j < b; j++) SSGB += ng * (cellSum[gi * b + j]! / ng - gMean - bMean[j]! + G) ** 2;
    }
    return { SSG: SSG * b, SSGB };
  };

  const obs = groupTerms(group);
  const SSSG = SSsubj - obs.SSG;
  const SSBSG = SSwithin - SSB - obs.SSGB;
  const dfG = g - 1;
  const dfSG = n - g;
  const dfB = b - 1;
  const dfGB = dfG * dfB;
  const dfBSG = dfB * dfSG;
  const FG = fRatio(obs.SSG, dfG, SSSG, dfSG);
  const FB = fRatio(SSB, dfB, SSBSG, dfBSG);
  const FGB = fRatio(obs.SSGB, dfGB, SSBSG, dfBSG);

  const N = opts.permutations;
  let geG = 0;
  let geB = 0;
  let geGB = 0;
  if (N > 0) {
    const rng = new Random(opts.seed);
    const labels = Int32Array.from(group);
    const total = 2 * N;
    const step = Math.max(1, Math.floor(total / 100));
    for (let r = 0; r < N; r++) {
      rng.shuffle(labels);
      const t = groupTerms(labels);
      const sSG = SSsubj - t.SSG;
      const sBSG = SSwithin - SSB - t.SSGB;
      if (atLeastAsExtreme(fRatio(t.SSG, dfG, sSG, dfSG), FG)) geG++;
      if (atLeastAsExtreme(fRatio(t.SSGB, dfGB, sBSG, dfBSG), FGB)) geGB++;
      if (opts.onProgress && (r + 1) % step === 0) opts.onProgress(r + 1, total);
    }
    // Levels permuted within each subject; group labels stay. Subject means are unchanged.
    const perm = new Int32Array(b);
    const bSum = new Float64Array(b);
    for (let r = 0; r < N; r++) {
      cellSum.fill(0);
      bSum.fill(0);
      for (let s = 0; s < n; s++) {
        for (let j = 0; j < b; j++) perm[j] = j;
        rng.shuffle(perm);
        const base = group[s]! * b;
        for (let j = 0; j < b; j++) {
          const v = y[s * b + perm[j]!]!;
          cellSum[base + j]! += v;
          bSum[j]! += v;
        }
      }
      let sB = 0;
      for (let j = 0; j < b; j++) sB += (bSum[j]! / n - G) ** 2;
      sB *= n;
      let sGB = 0;
      for (let gi = 0; gi < g; gi++) {
        const ng = sizes[gi]!;
        let gSum = 0;
        for (let j = 0; j < b; j++) gSum += cellSum[gi * b + j]!;
        const gMean = gSum / (ng * b);
        for (let j = 0; j < b; j++) sGB += ng * (cellSum[gi * b + j]! / ng - gMean - bSum[j]! / n + G) ** 2;
      }
      const sBSG = SSwithin - sB - sGB;
      if (atLeastAsExtreme(fRatio(sB, dfB, sBSG, dfBSG), FB)) geB++;
      if (opts.onProgress && (N + r + 1) % step === 0) opts.onProgress(N + r + 1, total);
    }
  }
  const p = (ge: number, F: number): number | null => (N > 0 && !Number.isNaN(F) ? permutationP(ge, N) : null);
  return {
    n_subjects: n,
    group_sizes: sizes,
    levels: b,
    permutations: N,
    effects: [
      anovaEffect(names[0], dfG, dfSG, obs.SSG, SSSG, FG, p(geG, FG)),
      anovaEffect(names[1], dfB, dfBSG, SSB, SSBSG, FB, p(geB, FB)),
      anovaEffect(`${names[0]}:${names[1]}`, dfGB, dfBSG, obs.SSGB, SSBSG, FGB, p(geGB, FGB)),
    ],
  };
}
