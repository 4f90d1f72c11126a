import { fUpperTail } from './f-distribution.ts';

/** One row of an ANOVA table: what every ANOVA here reports, the permutation kernels included. */
export interface BasicEffect {
  effect: string;
  df1: number;
  df2: number;
  ss: number;
  ss_error: number;
  /** NaN (JSON null) when undefined: effect and error sums of squares both zero (see rm-design.ts). */
  F: number;
  /** SS_effect / (SS_effect + SS_error) (Cohen 1973). */
  partial_eta2: number;
  /** From the F distribution (assumes normal errors and sphericity). */
  p_parametric: number;
  /** From the permutation test of the scheme in use; null when none was run or F is undefined. */
  p_permutation: number | null;
}

/**
 * A row of a repeated-measures or mixed ANOVA table, with the sphericity corrections MATLAB's
 * `ranova` prints (analysis/sphericity.ts). Between-subjects effects need no correction: ε = 1 and
 * the corrected p-values equal the uncorrected one, as in ranova's output.
 */
export interface AnovaEffect extends BasicEffect {
  epsilon_gg: number;
  epsilon_hf: number;
  p_gg: number;
  p_hf: number;
  p_lb: number;
  /** What the permutation test shuffled, in words; null without permutations. */
  permutation_null: string | null;
}

export interface PermutationOptions {
  /** Number of permutations; 0 skips the permutation test. */
  permutations: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

export function fRatio(ss: number, df1: number, ssError: number, df2: number): number {
  if (ssError <= 0) return ss > 0 ? Infinity : NaN;
  return ss / df1 / (ssError / df2);
}

export function partialEta2(ss: number, ssError: number): number {
  return ss + ssError > 0 ? ss / (ss + ssError) : NaN;
}

/** One row of an ANOVA table (repeated-measures and mixed designs), without sphericity. */
export function anovaEffect(
  name: string,
  df1: number,
  df2: number,
  ss: number,
  ssError: number,
  F: number,
  pPerm: number | null,
): BasicEffect {
  return {
    effect: name,
    df1,
    df2,
    ss,
    ss_error: ssError,
    F,
    partial_eta2: partialEta2(ss, ssError),
    p_parametric: fUpperTail(F, df1, df2),
    p_permutation: pPerm,
  };
}
