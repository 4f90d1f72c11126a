/**
 * Permutation p-values for the effects of a repeated-measures or mixed design (rm-design.ts), by
 * one of two schemes:
 *
 * `paper` (the default) — the procedures of Feather et al. 2023, read from the MATLAB functions in
 * the authors' repository (jenellefeather/model_metamers_pytorch, matlab_statistics_functions/):
 * - run_permutation_network_types.m (model × layer, both within subjects): the model main effect
 *   averages each participant's data over layers and shuffles the model levels independently
 *   within each participant; the interaction shuffles all layer × model cells independently within
 *   each participant.
 * - run_permutation_significance_test_layer_effect_human.m (one-way, layers within subjects):
 *   the layer levels are shuffled within each participant.
 * - run_permutation_significance_test_network_human.m (observer between × layer within): the
 *   observer main effect permutes the human/network labels across all rows (on row means); the
 *   interaction permutes the labels and shuffles the layers within every row.
 * - run_permutation_significance_test_model_adv_eval.m (network between × attack size within):
 *   the same shuffles as the human-vs-network file.
 * In every file p = #{F* beyond F} / N, reported as 1/N when 0, with N = 10,000. Two files write
 * F* > F, two F* ≥ F; but MATLAB computes the main effects' F* from averaged data and the
 * observed F from the full table, so a rearrangement that ties in exact arithmetic falls either
 * way by rounding. The printouts show ties counted: in the adversarial-evaluation ANOVA (accuracies
 * k/1024, so many ties) the exact network p-values are 0.873 (>) and 0.905 (≥) for L1, 0.063 and
 * 0.095 for L∞, and the printout says 0.9092 and 0.0963. We therefore count F* ≥ F (up to 1e-9
 * relative) everywhere; on the human data ties move p by at most 0.0012 (exact enumeration of the
 * two-model main effects of the printouts; test/unit/analysis-feather2023-printouts.test.ts).
 * Effects those files do not test (e.g. the layer main effect of the model × layer design, which
 * the paper reports from the F distribution only) get the analogous shuffle: a within-subject main
 * effect shuffles its levels within each subject on data averaged over the other within factors;
 * a within-subject interaction shuffles all cells within each subject; a between × within
 * interaction also permutes the group labels.
 *
 * `restricted` — the platform's earlier scheme, kept because it is the stricter test: it permutes
 * only what is exchangeable under the null of the tested effect alone (restricted permutations,
 * Anderson & ter Braak 2003, J Stat Comput Simul 73:85; Good, "Permutation, Parametric and
 * Bootstrap Tests of Hypotheses", 3rd ed., §5.4): in a model × layer design, model labels within
 * each participant × layer cell (model and model × layer), layers within each participant × model
 * cell (layer); in a mixed design, whole subjects between groups (group and group × within) and
 * levels within subjects (within); p = (1 + #{F* ≥ F}) / (1 + N) (Phipson & Smyth 2010). The
 * paper's interaction shuffle also breaks the layer effect, so its null is "all cells of a
 * participant are exchangeable" rather than "no interaction"; with a strong layer effect F* is
 * then close to F-distributed and the p-values come out smaller (docs/analysis.md).
 *
 * F* is computed from marginal sums over typed arrays (below), never by re-fitting the model: the
 * permutation kernels are O(n · m) per permutation.
 */
import { AnalysisInputError } from './input-error.ts';
import { mixedAnova } from './mixed-anova.ts';
import { atLeastAsExtreme, permutationP, Random } from './random.ts';
import { rmAnova2 } from './rm-anova.ts';
import { cellCount, checkDesign, type RmAnovaTable, type RmDesign, withinTerms } from './rm-design.ts';

export const PERMUTATION_SCHEMES = ['paper', 'restricted'] as const;
export type PermutationScheme = (typeof PERMUTATION_SCHEMES)[number];

/** Which of the authors' MATLAB functions a design's permutation tests follow. */
export interface PaperProcedure {
  file: string;
}

export const PAPER_PROCEDURES = {
  modelTypes: { file: 'run_permutation_network_types.m' },
  layerEffect: { file: 'run_permutation_significance_test_layer_effect_human.m' },
  networkHuman: { file: 'run_permutation_significance_test_network_human.m' },
  advEval: { file: 'run_permutation_significance_test_model_adv_eval.m' },
} as const satisfies Record<string, PaperProcedure>;

/** The authors' procedure for a design; `humanVsModel` picks their human-vs-network function. */
export function paperProcedureFor(design: Pick<RmDesign, 'within' | 'between'>, humanVsModel = false): PaperProcedure {
  if (design.between) return humanVsModel ? PAPER_PROCEDURES.networkHuman : PAPER_PROCEDURES.advEval;
  return design.within.length === 1 ? PAPER_PROCEDURES.layerEffect : PAPER_PROCEDURES.modelTypes;
}

export interface PermutationRunOptions {
  permutations: number;
  seed: number;
  scheme: PermutationScheme;
  /** For the paper scheme; default: paperProcedureFor(design). */
  procedure?: PaperProcedure;
  onProgress?: (done: number, total: number) => void;
}

/** How the p-values were obtained, for the output. */
export function describeScheme(scheme: PermutationScheme, procedure: PaperProcedure): string {
  return scheme === 'paper'
    ? `paper: Feather et al. 2023, matlab_statistics_functions/${procedure.file}; p = #{F* ≥ F} / N, at least 1/N`
    : "restricted: only what the tested effect's null makes exchangeable; p = (1 + #{F* ≥ F}) / (1 + N)";
}

/** The authors' p: the share of null statistics beyond the observed one, reported as 1/N when none is. */
export function paperP(count: number, permutations: number): number {
  return Math.max(count, 1) / permutations;
}

/**
 * SS_effect / SS_error of one term for data y (n × m, cells row-major over `dims`) and group labels:
 * F up to a constant factor (the degrees of freedom do not change under permutation).
 *
 * For term T (a mask over `dims`; 0 for the between-subjects effect), u_s are subject s's sums over
 * the factors outside T, and P_T the projection onto T's interaction contrasts. ‖P_T u‖² is the
 * inclusion–exclusion Σ_{U ⊆ T} (−1)^{|T∖U|} ‖M_U u‖² / Π_{f ∈ T∖U} l_f over the marginal sums
 * M_U u. Then SS_error ∝ Σ_s ‖P u_s‖² − Σ_g n_g ‖P ū_g‖², SS_G×T ∝ Σ_g n_g ‖P ū_g‖² − n ‖P ū‖²
 * and the Type III SS_T ∝ ‖P μ̂‖² / c with μ̂ the unweighted mean of the ū_g (rm-design.ts).
 */
export class EffectKernel {
  private readonly m: number;
  private readonly mT: number;
  private readonly cellToT: Int32Array | null;
  private readonly subsets: { map: Int32Array | null; size: number; coef: number }[];
  private readonly u: Float64Array;
  private readonly buffers: Float64Array[];
  private readonly gSum: Float64Array;
  private readonly v: Float64Array;

  constructor(
    dims: readonly number[],
    mask: number,
    private readonly g: number,
  ) {
    const K = dims.length;
    this.m = dims.reduce((a, b) => a * b, 1);
    const tFactors = dims.map((_, f) => f).filter((f) => mask & (1 << f));
    this.mT = tFactors.reduce((a, f) => a * dims[f]!, 1);
    const strides = new Array<number>(K);
    for (let f = K - 1, s = 1; f >= 0; f--) {
      strides[f] = s;
      s *= dims[f]!;
    }
    // Index of a cell's projection onto a subset of factors (row-major over that subset).
    const project = (cell: number, factors: readonly number[]): number => {
      let idx = 0;
      for (const f of factors) idx = idx * dims[f]! + (Math.floor(cell / strides[f]!) % dims[f]!);
      return idx;
    };
    // Cells of the T table, as representative full cells (other factors at level 0).
    const tCells: number[] = [];
    for (let c = 0; c < this.m; c++)
      if (dims.every((_, f) => mask & (1 << f) || Math.floor(c / strides[f]!) % dims[f]! === 0)) tCells.push(c);
    this.cellToT = this.mT === this.m ? null : Int32Array.from({ length: this.m }, (_, c) => project(c, tFactors));
    this.subsets = [];
    for (let sub = mask; ; sub = (sub - 1) & mask) {
      const uFactors = tFactors.filter((f) => sub & (1 << f));
      const dropped = tFactors.filter((f) => !(sub & (1 << f)));
      const size = uFactors.reduce((a, f) => a * dims[f]!, 1);
      const coef = (dropped.length % 2 ? -1 : 1) / dropped.reduce((a, f) => a * dims[f]!, 1);
      const map = sub === mask ? null : Int32Array.from(tCells, (c) => project(c, uFactors));
      this.subsets.push({ map, size, coef });
      if (sub === 0) break;
    }
    this.u = new Float64Array(this.mT);
    this.buffers = this.subsets.map((s) => new Float64Array(s.size));
    this.gSum = new Float64Array(g * this.mT);
    this.v = new Float64Array(this.mT);
  }

  /** ‖P_T x‖² for the vector x[off, off + m_T) over the T table. */
  private projectedSquare(x: Float64Array, off: number): number {
    const mT = this.mT;
    let total = 0;
    for (let i = 0; i < this.subsets.length; i++) {
      const { map, coef } = this.subsets[i]!;
      let sq = 0;
      if (map === null) {
        for (let t = 0; t < mT; t++) sq += x[off + t]! * x[off + t]!;
      } else {
        const buf = this.buffers[i]!;
        buf.fill(0);
        for (let t = 0; t < mT; t++) buf[map[t]!]! += x[off + t]!;
        for (let k = 0; k < buf.length; k++) sq += buf[k]! * buf[k]!;
      }
      total += coef * sq;
    }
    return total;
  }

  /**
   * SS ratio of the term (`groupTerm` false: the within term T, Type III; true: G × T, or the
   * between-subjects effect when T is empty). Infinity when only the error is 0, NaN when both are.
   */
  ratio(y: Float64Array, n: number, labels: Int32Array, sizes: readonly number[], groupTerm: boolean): number {
    const { m, mT, u, gSum, v, g } = this;
    gSum.fill(0);
    let Q = 0;
    for (let s = 0; s < n; s++) {
      let x = y;
      let off = s * m;
      if (this.cellToT !== null) {
        u.fill(0);
        const map = this.cellToT;
        for (let c = 0; c < m; c++) u[map[c]!]! += y[off + c]!;
        x = u;
        off = 0;
      }
      Q += this.projectedSquare(x, off);
      const gOff = labels[s]! * mT;
      for (let t = 0; t < mT; t++) gSum[gOff + t]! += x[off + t]!;
    }
    let between = 0;
    for (let gi = 0; gi < g; gi++) {
      for (let t = 0; t < mT; t++) v[t] = gSum[gi * mT + t]! / sizes[gi]!;
      between += sizes[gi]! * this.projectedSquare(v, 0);
    }
    const error = Q - between;
    let ss: number;
    if (groupTerm) {
      v.fill(0);
      for (let gi = 0; gi < g; gi++) for (let t = 0; t < mT; t++) v[t]! += gSum[gi * mT + t]!;
      for (let t = 0; t < mT; t++) v[t]! /= n;
      ss = between - n * this.projectedSquare(v, 0);
    } else {
      v.fill(0);
      for (let gi = 0; gi < g; gi++) for (let t = 0; t < mT; t++) v[t]! += gSum[gi * mT + t]! / sizes[gi]!;
      for (let t = 0; t < mT; t++) v[t]! /= g;
      let c = 0;
      for (let gi = 0; gi < g; gi++) c += 1 / sizes[gi]!;
      ss = this.projectedSquare(v, 0) / (c / (g * g));
    }
    // Rounding noise of the subtractions, relative to the total it came from.
    const noise = 1e-12 * Math.max(Q, 1e-300);
    if (error <= noise) return ss > noise ? Infinity : NaN;
    return Math.max(ss, 0) / error;
  }
}

/** One effect's permutation test: how to rearrange the data, and the statistic to recompute. */
interface EffectPlan {
  effect: string;
  /** Shuffle each subject's row of `data` (n × width) in place; permute the labels. */
  shuffleRows: boolean;
  shuffleLabels: boolean;
  data: Float64Array;
  width: number;
  kernel: EffectKernel;
  groupTerm: boolean;
  description: string;
}

/** Sums over the factors outside `keep` (mask), per subject: n × Π_{f ∈ keep} l_f. */
function marginalSums(d: RmDesign, keep: number): { data: Float64Array; dims: number[] } {
  const dims = d.within.map((f) => f.levels.length);
  const kept = dims.map((_, f) => f).filter((f) => keep & (1 << f));
  const m = cellCount(d.within);
  const width = kept.reduce((a, f) => a * dims[f]!, 1);
  const strides = new Array<number>(dims.length);
  for (let f = dims.length - 1, s = 1; f >= 0; f--) {
    strides[f] = s;
    s *= dims[f]!;
  }
  const map = Int32Array.from({ length: m }, (_, c) =>
    kept.reduce((idx, f) => idx * dims[f]! + (Math.floor(c / strides[f]!) % dims[f]!), 0),
  );
  const data = new Float64Array(d.n * width);
  for (let s = 0; s < d.n; s++) for (let c = 0; c < m; c++) data[s * width + map[c]!]! += d.y[s * m + c]!;
  return { data, dims: kept.map((f) => dims[f]!) };
}

/** The paper scheme's plans, one per effect of rmAnovaTable's output, in the same order. */
function paperPlans(d: RmDesign): EffectPlan[] {
  const g = d.between ? d.between.levels.length : 1;
  const m = cellCount(d.within);
  const dims = d.within.map((f) => f.levels.length);
  const plans: EffectPlan[] = [];
  const bName = d.between?.name;
  if (d.between) {
    const totals = marginalSums(d, 0);
    plans.push({
      effect: d.between.name,
      shuffleRows: false,
      shuffleLabels: true,
      data: totals.data,
      width: 1,
      kernel: new EffectKernel([], 0, g),
      groupTerm: true,
      description: `${bName} labels permuted across subjects (on subject means)`,
    });
  }
  for (const term of withinTerms(d.within)) {
    const main = term.factors.length === 1;
    // Main effects: the term's own levels, averaged over the other within factors; interactions: all cells.
    const source = main ? marginalSums(d, term.mask) : { data: Float64Array.from(d.y), dims };
    const kernelMask = main ? 1 : term.mask;
    const averaged =
      main && d.within.length > 1
        ? ` (averaged over ${d.within
            .filter((_, f) => f !== term.factors[0])
            .map((f) => f.name)
            .join(', ')})`
        : '';
    const cells = main ? `${term.name} levels${averaged}` : `all ${d.within.map((f) => f.name).join(' × ')} cells`;
    plans.push({
      effect: term.name,
      shuffleRows: true,
      shuffleLabels: false,
      data: source.data,
      width: main ? source.dims[0]! : m,
      kernel: new EffectKernel(source.dims, kernelMask, g),
      groupTerm: false,
      description: `${cells} shuffled within each subject`,
    });
    if (d.between) {
      plans.push({
        effect: `${bName}:${term.name}`,
        shuffleRows: true,
        shuffleLabels: true,
        data: Float64Array.from(source.data),
        width: main ? source.dims[0]! : m,
        kernel: new EffectKernel(source.dims, kernelMask, g),
        groupTerm: true,
        description: `${bName} labels permuted across subjects and ${cells} shuffled within each subject`,
      });
    }
  }
  return plans;
}

/**
 * Runs the plans of the paper scheme (also the one-way restricted test, whose only exchangeable
 * units are the levels within a subject): counts null ratios at least the observed one and turns
 * the count into a p-value by `pValue`.
 */
function runPlans(
  d: RmDesign,
  table: RmAnovaTable,
  opts: PermutationRunOptions,
  pValue: (count: number, permutations: number) => number,
): void {
  const N = opts.permutations;
  const n = d.n;
  const { sizes } = checkDesign(d);
  const labels0 = d.between ? d.between.group : new Int32Array(n);
  const plans = paperPlans(d);
  // Observed ratios first, from the same kernels (so a rearrangement equal to the data compares equal).
  const observed = plans.map((plan) => plan.kernel.ratio(plan.data, n, labels0, sizes, plan.groupTerm));
  const rng = new Random(opts.seed);
  const total = N * plans.length;
  const step = Math.max(1, Math.floor(total / 100));
  let done = 0;
  plans.forEach((plan, i) => {
    const effect = table.effects.find((e) => e.effect === plan.effect)!;
    effect.permutation_null = plan.description;
    if (Number.isNaN(effect.F) || Number.isNaN(observed[i]!)) {
      done += N;
      return;
    }
    const labels = Int32Array.from(labels0);
    const { data, width } = plan;
    let count = 0;
    for (let r = 0; r < N; r++) {
      // Fisher–Yates from any starting order gives a uniform permutation, so the arrays are
      // shuffled in place, permutation after permutation, without restoring them.
      if (plan.shuffleLabels) rng.shuffle(labels);
      if (plan.shuffleRows) for (let s = 0; s < n; s++) rng.shuffle(data, s * width, width);
      const F = plan.kernel.ratio(data, n, labels, sizes, plan.groupTerm);
      if (atLeastAsExtreme(F, observed[i]!)) count++;
      if (opts.onProgress && ++done % step === 0) opts.onProgress(done, total);
    }
    effect.p_permutation = pValue(count, N);
  });
}

/** The restricted scheme: the platform's earlier kernels (rm-anova.ts, mixed-anova.ts), unchanged. */
function runRestricted(d: RmDesign, table: RmAnovaTable, opts: PermutationRunOptions): void {
  const K = d.within.length;
  const names = d.within.map((f) => f.name);
  const run = { permutations: opts.permutations, seed: opts.seed, onProgress: opts.onProgress };
  let pValues: Map<string, number | null>;
  let nulls: Map<string, string>;
  if (!d.between && K === 2) {
    const [a, b] = d.within.map((f) => f.levels.length) as [number, number];
    const r = rmAnova2(d.y, d.n, a, b, [names[0]!, names[1]!], run);
    pValues = new Map(r.effects.map((e) => [e.effect, e.p_permutation]));
    const within = (x: string, y: string) => `${x} levels shuffled within each subject × ${y} cell`;
    nulls = new Map([
      [names[0]!, within(names[0]!, names[1]!)],
      [names[1]!, within(names[1]!, names[0]!)],
      [`${names[0]}:${names[1]}`, within(names[0]!, names[1]!)],
    ]);
  } else if (d.between && K === 1) {
    const r = mixedAnova(d.y, d.between.group, d.between.levels.length, d.within[0]!.levels.length, [d.between.name, names[0]!], run);
    pValues = new Map(r.effects.map((e) => [e.effect, e.p_permutation]));
    const subjects = `whole subjects permuted between ${d.between.name} groups`;
    nulls = new Map([
      [d.between.name, subjects],
      [names[0]!, `${names[0]} levels shuffled within each subject`],
      [`${d.between.name}:${names[0]}`, subjects],
    ]);
  } else if (!d.between && K === 1) {
    // One factor: its levels within each subject are the only exchangeable units, as in the paper.
    runPlans(d, table, opts, permutationP);
    return;
  } else {
    throw new AnalysisInputError(
      'the restricted permutation scheme covers one or two within-subject factors, or one between- and one ' +
        'within-subject factor; use --permutation-scheme paper',
    );
  }
  for (const e of table.effects) {
    const p = pValues.get(e.effect);
    e.p_permutation = Number.isNaN(e.F) || p === undefined ? null : p;
    e.permutation_null = nulls.get(e.effect) ?? null;
  }
}

/** Fills `p_permutation` and `permutation_null` of every effect of `table` (computed from `d`). */
export function runPermutationTests(d: RmDesign, table: RmAnovaTable, opts: PermutationRunOptions): void {
  if (opts.permutations <= 0) return;
  if (opts.scheme === 'restricted') runRestricted(d, table, opts);
  else runPlans(d, table, opts, paperP);
}
