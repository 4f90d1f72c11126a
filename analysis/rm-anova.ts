/**
 * Two-way repeated-measures ANOVA, both factors within subjects (the paper's model × layer test,
 * docs/design.md §5), with permutation p-values.
 *
 * Sums of squares follow the standard decomposition into S, A, B, A×B, A×S, B×S, A×B×S, each effect
 * tested against its own interaction with subjects (Maxwell & Delaney, "Designing Experiments and
 * Analyzing Data", 2nd ed., ch. 12). Permutations are restricted to exchangeable units (Anderson &
 * ter Braak 2003, J Stat Comput Simul 73:85): A's main effect and the A×B interaction permute A's
 * levels within each subject × B cell (null: A makes no difference at any level of B); B's main
 * effect permutes B's levels within each subject × A cell.
 *
 * Data layout: y[(s * a + i) * b + j] for subject s, level i of A, level j of B; complete data.
 */
import { anovaEffect, type BasicEffect, fRatio, type PermutationOptions } from './anova-effect.ts';
import { atLeastAsExtreme, permutationP, Random } from './random.ts';

export interface RmAnovaResult {
  n_subjects: number;
  levels: [number, number];
  permutations: number;
  effects: BasicEffect[];
}

interface Ss {
  G: number;
  sMean: Float64Array;
  aMean: Float64Array;
  bMean: Float64Array;
  S: number;
  A: number;
  B: number;
  AB: number;
  AS: number;
  BS: number;
  ABS: number;
  T: number;
}

function decompose(y: Float64Array, n: number, a: number, b: number): Ss {
  const N = n * a * b;
  let G = 0;
  for (let i = 0; i < N; i++) G += y[i]!;
  G /= N;
  const sMean = new Float64Array(n);
  const aMean = new Float64Array(a);
  const bMean = new Float64Array(b);
  const sa = new Float64Array(n * a);
  const sb = new Float64Array(n * b);
  const ab = new Float64Array(a * b);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) {
        const v = y[(s * a + i) * b + j]!;
        sMean[s]! += v;
        aMean[i]! += v;
        bMean[j]! += v;
        sa[s * a + i]! += v;
        sb[s * b + j]! += v;
        ab[i * b + j]! += v;
      }
    }
  }
  for (let s = 0; s < n; s++) sMean[s]! /= a * b;
  for (let i = 0; i < a; i++) aMean[i]! /= n * b;
  for (let j = 0; j < b; j++) bMean[j]! /= n * a;
  for (let k = 0; k < n * a; k++) sa[k]! /= b;
  for (let k = 0; k < n * b; k++) sb[k]! /= a;
  for (let k = 0; k < a * b; k++) ab[k]! /= n;

  let S = 0;
  for (let s = 0; s < n; s++) S += (sMean[s]! - G) ** 2;
  S *= a * b;
  let A = 0;
  for (let i = 0; i < a; i++) A += (aMean[i]! - G) ** 2;
  A *= n * b;
  let B = 0;
  for (let j = 0; j < b; j++) B += (bMean[j]! - G) ** 2;
  B *= n * a;
  let AB = 0;
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) AB += (ab[i * b + j]! - aMean[i]! - bMean[j]! + G) ** 2;
  AB *= n;
  let AS = 0;
  for (let s = 0; s < n; s++) for (let i = 0; i < a; i++) AS += (sa[s * a + i]! - sMean[s]! - aMean[i]! + G) ** 2;
  AS *= b;
  let BS = 0;
  for (let s = 0; s < n; s++) for (let j = 0; j < b; j++) BS += (sb[s * b + j]! - sMean[s]! - bMean[j]! + G) ** 2;
  BS *= a;
  let ABS = 0;
  let T = 0;
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) {
        const v = y[(s * a + i) * b + j]!;
        T += (v - G) ** 2;
        ABS += (v - sa[s * a + i]! - sb[s * b + j]! - ab[i * b + j]! + sMean[s]! + aMean[i]! + bMean[j]! - G) ** 2;
      }
    }
  }
  return { G, sMean, aMean, bMean, S, A, B, AB, AS, BS, ABS, T };
}

export function rmAnova2(
  y: Float64Array,
  n: number,
  a: number,
  b: number,
  names: readonly [string, string],
  opts: PermutationOptions,
): RmAnovaResult {
  if (n < 2 || a < 2 || b < 2) throw new RangeError(`rmAnova2 needs ≥ 2 subjects and ≥ 2 levels per factor (got ${n}, ${a}, ${b})`);
  if (y.length !== n * a * b) throw new RangeError(`rmAnova2: ${y.length} values for ${n} × ${a} × ${b}`);
  const ss = decompose(y, n, a, b);
  const dfA = a - 1;
  const dfB = b - 1;
  const dfAB = dfA * dfB;
  const dfAS = dfA * (n - 1);
  const dfBS = dfB * (n - 1);
  const dfABS = dfAB * (n - 1);
  const FA = fRatio(ss.A, dfA, ss.AS, dfAS);
  const FB = fRatio(ss.B, dfB, ss.BS, dfBS);
  const FAB = fRatio(ss.AB, dfAB, ss.ABS, dfABS);

  const N = opts.permutations;
  let geA = 0;
  let geB = 0;
  let geAB = 0;
  if (N > 0) {
    const rng = new Random(opts.seed);
    const perm = new Int32Array(Math.max(a, b));
    const saSum = new Float64Array(n * a);
    const sbSum = new Float64Array(n * b);
    const abSum = new Float64Array(a * b);
    const total = 2 * N;
    const step = Math.max(1, Math.floor(total / 100));
    // A's levels permuted within each subject × B cell: S, B, B×S and the total are unchanged.
    const aMean = new Float64Array(a);
    for (let r = 0; r < N; r++) {
      saSum.fill(0);
      abSum.fill(0);
      if (a === 2) permuteTwoLevels(y, n, b, rng, saSum, abSum);
      else {
        for (let s = 0; s < n; s++) {
          for (let j = 0; j < b; j++) {
            for (let i = 0; i < a; i++) perm[i] = i;
            rng.shuffle(perm, 0, a);
            for (let i = 0; i < a; i++) {
              const v = y[(s * a + perm[i]!) * b + j]!;
              saSum[s * a + i]! += v;
              abSum[i * b + j]! += v;
            }
          }
        }
      }
      aMean.fill(0);
      for (let s = 0; s < n; s++) for (let i = 0; i < a; i++) aMean[i]! += saSum[s * a + i]!;
      for (let i = 0; i < a; i++) aMean[i]! /= n * b;
      let A = 0;
      for (let i = 0; i < a; i++) A += (aMean[i]! - ss.G) ** 2;
      A *= n * b;
      let AS = 0;
      for (let s = 0; s < n; s++) for (let i = 0; i < a; i++) AS += (saSum[s * a + i]! / b - ss.sMean[s]! - aMean[i]! + ss.G) ** 2;
      AS *= b;
      let AB = 0;
      for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) AB += (abSum[i * b + j]! / n - aMean[i]! - ss.bMean[j]! + ss.G) ** 2;
      AB *= n;
      const ABS = Math.max(0, ss.T - ss.S - A - ss.B - AS - ss.BS - AB);
      if (atLeastAsExtreme(fRatio(A, dfA, AS, dfAS), FA)) geA++;
      if (atLeastAsExtreme(fRatio(AB, dfAB, ABS, dfABS), FAB)) geAB++;
      if (opts.onProgress && (r + 1) % step === 0) opts.onProgress(r + 1, total);
    }
    // B's levels permuted within each subject × A cell: S, A, A×S and the total are unchanged.
    const bSum = new Float64Array(b);
    for (let r = 0; r < N; r++) {
      sbSum.fill(0);
      bSum.fill(0);
      for (let s = 0; s < n; s++) {
        for (let i = 0; i < a; i++) {
          for (let j = 0; j < b; j++) perm[j] = j;
          rng.shuffle(perm, 0, b);
          const base = (s * a + i) * b;
          for (let j = 0; j < b; j++) {
            const v = y[base + perm[j]!]!;
            sbSum[s * b + j]! += v;
            bSum[j]! += v;
          }
        }
      }
      let B = 0;
      for (let j = 0; j < b; j++) B += (bSum[j]! / (n * a) - ss.G) ** 2;
      B *= n * a;
      let BS = 0;
      for (let s = 0; s < n; s++) for (let j = 0; j < b; j++) BS += (sbSum[s * b + j]! / a - ss.sMean[s]! - bSum[j]! / (n * a) + ss.G) ** 2;
      BS *= a;
      if (atLeastAsExtreme(fRatio(B, dfB, BS, dfBS), FB)) geB++;
      if (opts.onProgress && (N + r + 1) % step === 0) opts.onProgress(N + r + 1, total);
    }
  }
  const p = (ge: number, F: number): number | null => (N > 0 && !Number.isNaN(F) ? permutationP(ge, N) : null);
  return {
    n_subjects: n,
    levels: [a, b],
    permutations: N,
    effects: [
      anovaEffect(names[0], dfA, dfAS, ss.A, ss.AS, FA, p(geA, FA)),
      anovaEffect(names[1], dfB, dfBS, ss.B, ss.BS, FB, p(geB, FB)),
      anovaEffect(`${names[0]}:${names[1]}`, dfAB, dfABS, ss.AB, ss.ABS, FAB, p(geAB, FAB)),
    ],
  };
}

/**
 * The A-permutation for two levels of A: each subject × B cell either keeps or swaps its pair,
 * one random bit per cell (32 cells per generator step).
 */
function permuteTwoLevels(y: Float64Array, n: number, b: number, rng: Random, saSum: Float64Array, abSum: Float64Array): void {
  let bits = 0;
  let left = 0;
  for (let s = 0; s < n; s++) {
    const base = s * 2 * b;
    let s0 = 0;
    let s1 = 0;
    for (let j = 0; j < b; j++) {
      if (left === 0) {
        bits = rng.nextU32();
        left = 32;
      }
      const swap = bits & 1;
      bits >>>= 1;
      left--;
      const u = y[base + j]!;
      const v = y[base + b + j]!;
      const first = swap ? v : u;
      const second = swap ? u : v;
      s0 += first;
      s1 += second;
      abSum[j] = abSum[j]! + first;
      abSum[b + j] = abSum[b + j]! + second;
    }
    saSum[s * 2] = s0;
    saSum[s * 2 + 1] = s1;
  }
}
