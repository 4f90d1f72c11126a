/**
 * The paper's statistics (docs/design.md §5) assembled from study counts:
 * - model × layer repeated-measures ANOVA, the natural condition entering as the first layer level
 *   of every model (the same data for each), as in the data matrices the authors' MATLAB functions
 *   take ([participants, layers, models]); with one model, the one-way ANOVA over its levels (the
 *   paper's HMAX and spectro-temporal analyses);
 * - human vs model: per generating model, each participant's proportions next to the model's own
 *   accuracy on exactly the stimuli that participant saw, in a mixed ANOVA (observer between ×
 *   layer within), as run_network_human_anova_from_data_matrix_path.m stacks them.
 * Participants lacking any cell of a design are left out of it (listwise), and counted. Tables,
 * sphericity and permutation p-values come from design-anova.ts.
 */
import { type DesignAnova, designAnova } from './design-anova.ts';
import { AnalysisInputError } from './input-error.ts';
import { PAPER_PROCEDURES, type PermutationScheme } from './permutation.ts';
import { isNaturalCondition, type StudyCounts } from './study-counts.ts';

export interface StatisticsOptions {
  permutations: number;
  seed: number;
  scheme: PermutationScheme;
  onProgress?: (done: number, total: number) => void;
}

export interface ModelLayerAnova extends DesignAnova {
  /** `one-way`: one model, its levels (within: layer); `two-way`: model × layer (both within). */
  design: 'one-way' | 'two-way';
  models: string[];
  /** Layer levels in order; 'natural' first when the study has the natural condition. */
  levels: string[];
  n_participants: number;
  /** Included participants left out for lacking a cell. */
  n_incomplete: number;
}

/** Column index of each model's layers, in layer order. */
function layersOf(counts: StudyCounts, model: string): number[] {
  const cols: number[] = [];
  counts.conditions.forEach((c, i) => {
    if (c.model === model) cols.push(i);
  });
  return cols;
}

export function modelLayerAnova(
  counts: StudyCounts,
  included: Uint8Array,
  models: readonly string[],
  opts: StatisticsOptions,
): ModelLayerAnova {
  if (models.length === 0) throw new AnalysisInputError('the ANOVA needs at least one model (--compare <model> or --compare a,b,…)');
  const twice = models.find((m, i) => models.indexOf(m) !== i);
  // A model against itself has no effect to test; its sums of squares are rounding noise.
  if (twice !== undefined) throw new AnalysisInputError(`--compare names model "${twice}" twice; list each model once`);
  const known = new Set(counts.conditions.map((c) => c.model));
  for (const m of models) {
    if (!known.has(m) || m === '')
      throw new AnalysisInputError(
        `model "${m}" has no main trials in study ${counts.study_id} (models: ${[...known].filter(Boolean).join(', ')})`,
      );
  }
  const perModel = models.map((m) => layersOf(counts, m));
  const L = perModel[0]!.length;
  perModel.forEach((cols, i) => {
    if (cols.length !== L) {
      throw new AnalysisInputError(
        `the model × layer ANOVA needs the same number of layers per model: ${models[0]} has ${L}, ${models[i]} has ${cols.length}`,
      );
    }
  });
  const natural = counts.conditions.findIndex(isNaturalCondition);
  const levelCols = perModel.map((cols) => (natural >= 0 ? [natural, ...cols] : cols));
  const b = levelCols[0]!.length;
  const a = models.length;
  const C = counts.conditions.length;
  const subjects: number[] = [];
  let incomplete = 0;
  for (let p = 0; p < counts.participants.length; p++) {
    if (!included[p]) continue;
    const complete = levelCols.every((cols) => cols.every((c) => counts.total[p * C + c]! > 0));
    if (complete) subjects.push(p);
    else if (levelCols.some((cols) => cols.some((c) => counts.total[p * C + c]! > 0))) incomplete++;
  }
  if (subjects.length < 2) {
    throw new AnalysisInputError(`the ANOVA needs at least two participants with every cell (have ${subjects.length})`);
  }
  if (b < 2) throw new AnalysisInputError(`the ANOVA needs at least two layer levels (have ${b}; see --layers / --drop-layers)`);
  const y = new Float64Array(subjects.length * a * b);
  subjects.forEach((p, s) => {
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) {
        const c = levelCols[i]![j]!;
        y[(s * a + i) * b + j] = counts.correct[p * C + c]! / counts.total[p * C + c]!;
      }
    }
  });
  const firstModelLayers = perModel[0]!.map((c) => counts.conditions[c]!.layer);
  const levels = natural >= 0 ? ['natural', ...firstModelLayers] : firstModelLayers;
  const layer = { name: 'layer', levels };
  const within = a === 1 ? [layer] : [{ name: 'model', levels: [...models] }, layer];
  const r = designAnova({ y, n: subjects.length, within }, opts);
  return {
    design: a === 1 ? 'one-way' : 'two-way',
    models: [...models],
    levels,
    n_participants: subjects.length,
    n_incomplete: incomplete,
    ...r,
  };
}

export interface HumanVsModelLevel {
  layer: string;
  layer_index: number;
  human_mean: number;
  network_mean: number;
}

export interface HumanVsModel extends DesignAnova {
  model: string;
  n_participants: number;
  n_incomplete: number;
  levels: HumanVsModelLevel[];
}

/**
 * For each generating model with observer counts: humans and the model as two groups of
 * "observers" over the model's levels (natural first when the model's natural predictions are
 * known). The model's pseudo-participant for person p is its accuracy on p's stimuli.
 */
export function humanVsModel(counts: StudyCounts, included: Uint8Array, opts: StatisticsOptions): HumanVsModel[] {
  const out: HumanVsModel[] = [];
  const C = counts.conditions.length;
  const natural = counts.conditions.findIndex(isNaturalCondition);
  let seedOffset = 0;
  for (const model of new Set(counts.conditions.map((c) => c.model))) {
    if (model === '') continue;
    const net = counts.network.get(model);
    if (!net) continue;
    const layerCols = layersOf(counts, model);
    // The natural level needs the model's predictions on natural stimuli; without them, compare layers only.
    const naturalKnown = natural >= 0 && counts.participants.some((_, p) => included[p] && net.total[p * C + natural]! > 0);
    const cols = naturalKnown ? [natural, ...layerCols] : layerCols;
    if (cols.length < 2) continue;
    const subjects: number[] = [];
    let incomplete = 0;
    for (let p = 0; p < counts.participants.length; p++) {
      if (!included[p]) continue;
      const complete = cols.every((c) => counts.total[p * C + c]! > 0 && net.total[p * C + c]! > 0);
      if (complete) subjects.push(p);
      else if (cols.some((c) => counts.total[p * C + c]! > 0)) incomplete++;
    }
    if (subjects.length < 2) continue;
    const N = subjects.length;
    const b = cols.length;
    const y = new Float64Array(2 * N * b);
    const group = new Int32Array(2 * N);
    subjects.forEach((p, s) => {
      cols.forEach((c, j) => {
        y[s * b + j] = counts.correct[p * C + c]! / counts.total[p * C + c]!;
        y[(N + s) * b + j] = net.correct[p * C + c]! / net.total[p * C + c]!;
      });
      group[N + s] = 1;
    });
    const levels = cols.map((c, j) => {
      let h = 0;
      let m = 0;
      for (let s = 0; s < N; s++) {
        h += y[s * b + j]!;
        m += y[(N + s) * b + j]!;
      }
      const cond = counts.conditions[c]!;
      return { layer: cond.layer, layer_index: cond.layer_index, human_mean: h / N, network_mean: m / N };
    });
    const r = designAnova(
      {
        y,
        n: 2 * N,
        within: [{ name: 'layer', levels: levels.map((l) => l.layer) }],
        between: { name: 'observer', levels: ['human', model], group },
      },
      { ...opts, seed: opts.seed + seedOffset++, procedure: PAPER_PROCEDURES.networkHuman },
    );
    out.push({ model, n_participants: N, n_incomplete: incomplete, levels, ...r });
  }
  return out;
}
