/**
 * Sphericity of a within-subject effect, as MATLAB's `ranova`, `epsilon` and `mauchly` compute it
 * (Statistics and Machine Learning Toolbox, RepeatedMeasuresModel) — the columns pValueGG,
 * pValueHF and pValueLB of every ranova table in Feather et al. 2023's *RESULTS.txt printouts.
 *
 * Input: the effect's error SSCP matrix E (q × q) of the data transformed by orthonormal contrasts
 * of the effect (pooled within groups when there is a between-subjects factor) and its error
 * degrees of freedom ν = n − g (subjects minus groups). With S = E / ν:
 * - Greenhouse–Geisser (Box 1954; Greenhouse & Geisser 1959): ε_GG = tr(S)² / (q · tr(S²)).
 * - Huynh–Feldt in Lecoutre's (1991) corrected form, which is MATLAB's:
 *   ε_HF = min(1, ((ν + 1) q ε_GG − 2) / (q (ν − q ε_GG))).
 *   (Huynh & Feldt's 1976 original has n in place of ν + 1; the two differ only with a
 *   between-subjects factor. The printouts settle it: e.g. EXP1 CORnet-S, network_or_human:layer,
 *   pValueHF 3.551e-87 is Lecoutre's form; the original gives 3.7e-89. MathWorks' fisheriris
 *   example, HuynhFeldt 0.76409, is also Lecoutre's; see test/unit/analysis-sphericity.test.ts.)
 * - Lower bound (Greenhouse & Geisser 1959): ε_LB = 1 / q.
 * Corrected p-values use F(ε·df1, ε·df2) with the same F.
 * - Mauchly (1940): W = det(S) / (tr(S)/q)^q; χ² = −(ν − (2q² + q + 2) / (6q)) ln W with
 *   q(q + 1)/2 − 1 degrees of freedom (Anderson, "An Introduction to Multivariate Statistical
 *   Analysis", 3rd ed., §10.7.4 gives the same correction factor).
 * One-dimensional effects (q = 1) are spherical by definition: ε = 1, W = 1, no test.
 */
import { chiSquareUpperTail } from './chi-square-distribution.ts';
import { fUpperTail } from './f-distribution.ts';

export interface Epsilons {
  gg: number;
  hf: number;
  lb: number;
}

export interface MauchlyTest {
  /** The within-subject effect (a factor or an interaction of factors). */
  effect: string;
  /** Dimension of the effect (its numerator df). */
  q: number;
  /** Mauchly's W; null when undefined (q > ν: fewer error df than dimensions, or no variance). */
  W: number | null;
  chi2: number | null;
  df: number;
  /** Null for q = 1 (nothing to test) or when W is undefined. */
  p: number | null;
}

function trace(S: Float64Array, q: number): number {
  let t = 0;
  for (let i = 0; i < q; i++) t += S[i * q + i]!;
  return t;
}

/** tr(S²) for a symmetric S is the sum of its squared entries. */
function traceOfSquare(S: Float64Array): number {
  let t = 0;
  for (let i = 0; i < S.length; i++) t += S[i]! * S[i]!;
  return t;
}

export function epsilons(E: Float64Array, q: number, errorDf: number): Epsilons {
  if (q === 1) return { gg: 1, hf: 1, lb: 1 };
  const t = trace(E, q);
  const t2 = traceOfSquare(E);
  // The scale of E cancels: ε_GG is the same for E and E / ν.
  const gg = t > 0 && t2 > 0 ? Math.min(1, (t * t) / (q * t2)) : NaN;
  const den = q * (errorDf - q * gg);
  // A non-positive denominator (ν ≤ q ε_GG, tiny samples) puts HF past its ceiling of 1.
  const hf = Number.isNaN(gg) ? NaN : den <= 0 ? 1 : Math.min(1, ((errorDf + 1) * q * gg - 2) / den);
  return { gg, hf, lb: 1 / q };
}

/** ln det of a symmetric positive semi-definite matrix by Cholesky; −Infinity when singular. */
export function logDetPsd(S: Float64Array, q: number): number {
  const L = new Float64Array(q * q);
  let maxDiag = 0;
  for (let i = 0; i < q; i++) maxDiag = Math.max(maxDiag, S[i * q + i]!);
  // A pivot below this is rounding noise of a rank-deficient matrix.
  const tiny = maxDiag * q * 1e-13;
  let logDet = 0;
  for (let j = 0; j < q; j++) {
    let d = S[j * q + j]!;
    for (let k = 0; k < j; k++) d -= L[j * q + k]! * L[j * q + k]!;
    if (!(d > tiny)) return -Infinity;
    const ljj = Math.sqrt(d);
    L[j * q + j] = ljj;
    logDet += 2 * Math.log(ljj);
    for (let i = j + 1; i < q; i++) {
      let s = S[i * q + j]!;
      for (let k = 0; k < j; k++) s -= L[i * q + k]! * L[j * q + k]!;
      L[i * q + j] = s / ljj;
    }
  }
  return logDet;
}

export function mauchly(effect: string, E: Float64Array, q: number, errorDf: number): MauchlyTest {
  const df = (q * (q + 1)) / 2 - 1;
  if (q === 1) return { effect, q, W: 1, chi2: 0, df: 0, p: null };
  const t = trace(E, q);
  // W is scale-free, so E serves as well as S = E / ν; undefined without ν ≥ q or without variance.
  if (errorDf < q || !(t > 0)) return { effect, q, W: null, chi2: null, df, p: null };
  const logW = logDetPsd(E, q) - q * Math.log(t / q);
  const W = Math.exp(logW);
  const chi2 = -(errorDf - (2 * q * q + q + 2) / (6 * q)) * logW;
  return { effect, q, W, chi2, df, p: chiSquareUpperTail(chi2, df) };
}

/** p from F(ε·df1, ε·df2), as ranova's pValueGG, pValueHF and pValueLB. */
export function correctedP(F: number, df1: number, df2: number, epsilon: number): number {
  return Number.isNaN(epsilon) ? NaN : fUpperTail(F, df1 * epsilon, df2 * epsilon);
}
