/**
 * The univariate repeated-measures ANOVA table of any full-factorial within-subject design, with
 * at most one between-subjects factor: sums of squares, F, partial η², the F-distribution p and
 * the sphericity corrections, as MATLAB's `fitrm` + `ranova` print them in Feather et al. 2023's
 * *RESULTS.txt files (the authors call ranova through matlab_statistics_functions/
 * simple_mixed_anova_partialeta.m, which adds partial η² = SS / (SS + SS_error)).
 *
 * Method (the "multivariate approach" to the univariate tests; Maxwell & Delaney, "Designing
 * Experiments and Analyzing Data", 2nd ed., ch. 13–14): for a within-subject term T, each
 * subject's cell values y_s are transformed by the orthonormal contrasts of T, z_s = C_Tᵀ y_s
 * (q = df_T columns; C_T is the Kronecker product over factors of normalised Helmert contrasts
 * for factors in T and of 1/√l for the others). Then
 *   SS_T = ‖μ̂‖² / c        with μ̂ the unweighted mean of the group means of z and
 *                           c = Σ_g 1/n_g / g² (so SS_T = n ‖z̄‖² without groups),
 *   SS_G×T = Σ_g n_g ‖z̄_g − z̄‖²,   SS_error = tr E,   E = Σ_s (z_s − z̄_g(s))(z_s − z̄_g(s))ᵀ,
 * with df q, (g − 1) q and q (n − g); E also gives the sphericity statistics. The unweighted
 * mean is the hypothesis fitrm tests with its effects-coded between-subjects model (Type III);
 * it equals the weighted one when groups are equal, as in every analysis of the paper. The
 * between-subjects effect is the one-way ANOVA of subject totals / √m. This reproduces the
 * classical decomposition (S, A, B, A×B, A×S, …) exactly and is stable in floating point.
 *
 * An effect whose sum of squares is below n·m·(10⁻¹² max|y|)² — cell means that differ by less
 * than 10⁻¹² of the data's scale, i.e. rounding noise — is set to 0; when its error sum of
 * squares is 0 too, F is undefined (NaN), never a chance ratio of two rounding errors (a model
 * compared with itself once gave F = 18.5 from sums of squares of 1e-29).
 */
import { type AnovaEffect, anovaEffect, fRatio } from './anova-effect.ts';
import { correctedP, epsilons, mauchly, type MauchlyTest } from './sphericity.ts';

export interface WithinFactor {
  name: string;
  levels: readonly string[];
}

export interface BetweenFactor {
  name: string;
  levels: readonly string[];
  /** Level index of each subject, 0..levels.length − 1. */
  group: Int32Array;
}

export interface RmDesign {
  /** n × m values, subject-major; a subject's m cells in row-major order of `within` (last factor fastest). */
  y: Float64Array;
  n: number;
  within: readonly WithinFactor[];
  between?: BetweenFactor;
}

/** A within-subject term: a non-empty set of within factors (bit f set for factor f). */
export interface WithinTerm {
  mask: number;
  factors: number[];
  name: string;
  /** Degrees of freedom of the term: Π (l_f − 1). */
  q: number;
}

export interface RmAnovaTable {
  n_subjects: number;
  /** Subjects per level of the between-subjects factor; null without one. */
  group_sizes: number[] | null;
  effects: AnovaEffect[];
  /** Mauchly's test for every within-subject term (factors and their interactions). */
  sphericity: MauchlyTest[];
}

export function cellCount(within: readonly WithinFactor[]): number {
  return within.reduce((m, f) => m * f.levels.length, 1);
}

/** Main effects first, then two-way interactions, …; within a size, in factor order (as ranova). */
export function withinTerms(within: readonly WithinFactor[]): WithinTerm[] {
  const K = within.length;
  const terms: WithinTerm[] = [];
  for (let mask = 1; mask < 1 << K; mask++) {
    const factors = within.map((_, f) => f).filter((f) => mask & (1 << f));
    terms.push({
      mask,
      factors,
      name: factors.map((f) => within[f]!.name).join(':'),
      q: factors.reduce((q, f) => q * (within[f]!.levels.length - 1), 1),
    });
  }
  return terms.sort((a, b) => a.factors.length - b.factors.length || a.mask - b.mask);
}

/** Normalised Helmert contrasts: k × (k − 1), orthonormal columns orthogonal to the ones vector. */
export function helmert(k: number): Float64Array {
  const H = new Float64Array(k * (k - 1));
  for (let j = 1; j < k; j++) {
    const norm = Math.sqrt(j * (j + 1));
    for (let i = 0; i < j; i++) H[i * (k - 1) + j - 1] = 1 / norm;
    H[j * (k - 1) + j - 1] = -j / norm;
  }
  return H;
}

/** C_T: m × q, the Kronecker product over factors (first factor outermost) of Helmert or 1/√l. */
export function termContrasts(within: readonly WithinFactor[], term: WithinTerm): Float64Array {
  let C = new Float64Array([1]);
  let rows = 1;
  let cols = 1;
  within.forEach((f, fi) => {
    const l = f.levels.length;
    const inTerm = (term.mask & (1 << fi)) !== 0;
    const F = inTerm ? helmert(l) : new Float64Array(l).fill(1 / Math.sqrt(l));
    const fc = inTerm ? l - 1 : 1;
    const next = new Float64Array(rows * l * cols * fc);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < l; i++) {
        for (let c = 0; c < cols; c++) {
          for (let j = 0; j < fc; j++) next[(r * l + i) * (cols * fc) + c * fc + j] = C[r * cols + c]! * F[i * fc + j]!;
        }
      }
    }
    C = next;
    rows *= l;
    cols *= fc;
  });
  return C;
}

/** Checks shapes and values; throws RangeError (a programming error, not user input). */
export function checkDesign(d: RmDesign): { m: number; g: number; sizes: number[] } {
  const m = cellCount(d.within);
  if (d.within.length === 0) throw new RangeError('a repeated-measures design needs at least one within-subject factor');
  for (const f of d.within) if (f.levels.length < 2) throw new RangeError(`within-subject factor ${f.name} needs at least two levels`);
  if (d.y.length !== d.n * m) throw new RangeError(`${d.y.length} values for ${d.n} subjects × ${m} cells`);
  for (let i = 0; i < d.y.length; i++) if (!Number.isFinite(d.y[i]!)) throw new RangeError(`value ${i} is not a finite number`);
  const g = d.between ? d.between.levels.length : 1;
  const sizes = new Array<number>(g).fill(0);
  if (d.between) {
    if (d.between.group.length !== d.n) throw new RangeError(`${d.between.group.length} group labels for ${d.n} subjects`);
    for (const x of d.between.group) {
      if (x < 0 || x >= g) throw new RangeError(`group label ${x} outside 0..${g - 1}`);
      sizes[x]!++;
    }
    if (g < 2 || sizes.some((s) => s === 0))
      throw new RangeError(`between-subjects factor ${d.between.name} needs subjects in at least two levels, each level used`);
  } else sizes[0] = d.n;
  if (d.n - g < 1) throw new RangeError(`${d.n} subjects in ${g} group(s) leave no error degrees of freedom`);
  return { m, g, sizes };
}

/** Below this a sum of squares is rounding noise (see the module comment). */
export function zeroTolerance(d: RmDesign, m: number): number {
  let scale = 0;
  for (let i = 0; i < d.y.length; i++) scale = Math.max(scale, Math.abs(d.y[i]!));
  return d.n * m * (1e-12 * scale) ** 2;
}

function row(
  name: string,
  df1: number,
  df2: number,
  rawSs: number,
  rawError: number,
  tol: number,
  eps: { gg: number; hf: number; lb: number },
): AnovaEffect {
  const ss = rawSs <= tol ? 0 : rawSs;
  const ssError = rawError <= tol ? 0 : rawError;
  const F = fRatio(ss, df1, ssError, df2);
  return {
    ...anovaEffect(name, df1, df2, ss, ssError, F, null),
    epsilon_gg: eps.gg,
    epsilon_hf: eps.hf,
    p_gg: correctedP(F, df1, df2, eps.gg),
    p_hf: correctedP(F, df1, df2, eps.hf),
    p_lb: correctedP(F, df1, df2, eps.lb),
    permutation_null: null,
  };
}

const NO_CORRECTION = { gg: 1, hf: 1, lb: 1 };

export function rmAnovaTable(d: RmDesign): RmAnovaTable {
  const { m, g, sizes } = checkDesign(d);
  const { n, y } = d;
  const group = d.between?.group ?? new Int32Array(n);
  const tol = zeroTolerance(d, m);
  const errorDf = n - g;
  // Σ_g 1/n_g / g²: the variance factor of the unweighted mean of group means (Type III).
  const c = sizes.reduce((acc, s) => acc + 1 / s, 0) / (g * g);
  const effects: AnovaEffect[] = [];
  const sphericity: MauchlyTest[] = [];

  if (d.between) {
    // Between subjects: one-way ANOVA of the subject totals / √m.
    const z = new Float64Array(n);
    const gSum = new Float64Array(g);
    for (let s = 0; s < n; s++) {
      let t = 0;
      for (let k = 0; k < m; k++) t += y[s * m + k]!;
      z[s] = t / Math.sqrt(m);
      gSum[group[s]!]! += z[s]!;
    }
    let mean = 0;
    for (let gi = 0; gi < g; gi++) mean += gSum[gi]!;
    mean /= n;
    let ssG = 0;
    for (let gi = 0; gi < g; gi++) ssG += sizes[gi]! * (gSum[gi]! / sizes[gi]! - mean) ** 2;
    let ssE = 0;
    for (let s = 0; s < n; s++) ssE += (z[s]! - gSum[group[s]!]! / sizes[group[s]!]!) ** 2;
    effects.push(row(d.between.name, g - 1, errorDf, ssG, ssE, tol, NO_CORRECTION));
  }

  for (const term of withinTerms(d.within)) {
    const q = term.q;
    const C = termContrasts(d.within, term);
    const Z = new Float64Array(n * q);
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < m; k++) {
        const v = y[s * m + k]!;
        if (v === 0) continue;
        for (let j = 0; j < q; j++) Z[s * q + j]! += v * C[k * q + j]!;
      }
    }
    const gMean = new Float64Array(g * q);
    for (let s = 0; s < n; s++) for (let j = 0; j < q; j++) gMean[group[s]! * q + j]! += Z[s * q + j]!;
    for (let gi = 0; gi < g; gi++) for (let j = 0; j < q; j++) gMean[gi * q + j]! /= sizes[gi]!;
    const E = new Float64Array(q * q);
    const dev = new Float64Array(q);
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < q; j++) dev[j] = Z[s * q + j]! - gMean[group[s]! * q + j]!;
      for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) E[i * q + j]! += dev[i]! * dev[j]!;
    }
    let ssT = 0;
    let ssGT = 0;
    for (let j = 0; j < q; j++) {
      let unweighted = 0;
      let weighted = 0;
      for (let gi = 0; gi < g; gi++) {
        unweighted += gMean[gi * q + j]!;
        weighted += sizes[gi]! * gMean[gi * q + j]!;
      }
      unweighted /= g;
      weighted /= n;
      ssT += unweighted * unweighted;
      for (let gi = 0; gi < g; gi++) ssGT += sizes[gi]! * (gMean[gi * q + j]! - weighted) ** 2;
    }
    ssT /= c;
    let ssE = 0;
    for (let j = 0; j < q; j++) ssE += E[j * q + j]!;
    const eps = epsilons(E, q, errorDf);
    effects.push(row(term.name, q, q * errorDf, ssT, ssE, tol, eps));
    if (d.between) effects.push(row(`${d.between.name}:${term.name}`, (g - 1) * q, q * errorDf, ssGT, ssE, tol, eps));
    sphericity.push(mauchly(term.name, E, q, errorDf));
  }
  return { n_subjects: n, group_sizes: d.between ? sizes : null, effects, sphericity };
}
