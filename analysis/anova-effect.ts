import { fUpperTail } from './f-distribution.ts';

/** One row of an ANOVA table, as every ANOVA here reports it. */
export interface AnovaEffect {
  effect: string;
  df1: number;
  df2: number;
  ss: number;
  ss_error: number;
  F: number;
  /** SS_effect / (SS_effect + SS_error) (Cohen 1973). */
  partial_eta2: number;
  /** From the F distribution (assumes normal errors and sphericity). */
  p_parametric: number;
  /** (1 + #{F* ≥ F}) / (1 + N) over N permutations; null when none were run or F is undefined. */
  p_permutation: number | null;
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

/** One row of an ANOVA table (repeated-measures and mixed designs). */
export function anovaEffect(name: string, df1: number, df2: number, ss: number, ssError: number, F: number, pPerm: number | null): AnovaEffect {
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
