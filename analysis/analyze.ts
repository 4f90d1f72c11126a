/**
 * From study counts to everything the paper reports: exclusions, the recognizability table and the
 * statistics. Pure (no I/O); loaders produce the counts, the CLI and the dashboard consume this.
 */
import { applyExclusions, DEFAULT_EXCLUSIONS, type ExclusionReport, type ExclusionRules, type ParticipantFlags } from './exclusions.ts';
import { AnalysisInputError } from './input-error.ts';
import { chooseLevels, type LevelChoice } from './level-choice.ts';
import {
  otherModelRecognizability,
  type OtherModelResult,
  type OtherModelStimuli,
  type Prediction,
  type StimulusInfo,
} from './other-model.ts';
import { humanVsModel, type HumanVsModel, modelLayerAnova, type ModelLayerAnova } from './paper-statistics.ts';
import type { PermutationScheme } from './permutation.ts';
import { recognizabilityTable, type RecognizabilityRow } from './recognizability.ts';
import { modelsOf, type StudyCounts } from './study-counts.ts';
import { TrialAccumulator } from './trial-accumulator.ts';
import { TrialRow, type TrialRowInput } from './trial-row.ts';

export interface AnalyzeOptions {
  /** Bootstrap replicates for the CIs (B); 0 leaves CIs empty. */
  bootstrap: number;
  seed: number;
  ciLevel: number;
  /** Two-stage bootstrap: also redraw trials within each participant × condition cell. */
  bootstrapTrials: boolean;
  /** Permutations for every permutation test; 0 reports parametric p-values only. */
  permutations: number;
  /** `paper`: the authors' shuffles and p convention (permutation.ts); `restricted`: the stricter earlier scheme. */
  permutationScheme: PermutationScheme;
  /** Models for the model × layer ANOVA (one model: the one-way ANOVA over its levels), 'all', or null to skip it. */
  compare: readonly string[] | 'all' | null;
  /** ANOVA input problems (e.g. models with different numbers of layers): throw, or report them as notes (dashboard). */
  anovaProblems: 'throw' | 'note';
  /** Which levels enter the table and the statistics (level-choice.ts). */
  levels: LevelChoice;
  exclusions: ExclusionRules;
  /** Quality flags by participant, for the `flagged` exclusion rule (from the platform database). */
  flags?: ParticipantFlags;
  /** Number of response choices; chance = 1 / choices. Null when unknown. */
  choices: number | null;
  /** Run the statistics (ANOVAs, Spearman); off computes the table only. */
  statistics: boolean;
  /** Observer-model predictions for other-model recognizability, and the stimuli they refer to. */
  predictions?: readonly Prediction[];
  stimuli?: ReadonlyMap<string, StimulusInfo>;
  /** Other-model recognizability over every stimulus of a condition (`all`, the paper's) or those in trials. */
  otherModelStimuli: OtherModelStimuli;
  /** Stimulus ids shown in main trials (for `otherModelStimuli: 'trials'`). */
  stimuliInTrials?: ReadonlySet<string>;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = {
  bootstrap: 10_000,
  seed: 1,
  ciLevel: 0.95,
  bootstrapTrials: false,
  permutations: 10_000,
  permutationScheme: 'paper',
  compare: null,
  anovaProblems: 'throw',
  levels: {},
  otherModelStimuli: 'all',
  exclusions: DEFAULT_EXCLUSIONS,
  choices: null,
  statistics: true,
};

export interface AnalysisResult {
  study_id: string;
  options: {
    bootstrap: number;
    bootstrap_trials: boolean;
    ci_level: number;
    seed: number;
    permutations: number;
    permutation_scheme: PermutationScheme;
    choices: number | null;
    /** The level choice in force (--layers / --drop-layers or the study config); null: all levels. */
    layers: string[] | null;
    drop_layers: string[] | null;
    other_model_stimuli: OtherModelStimuli;
  };
  exclusions: ExclusionReport;
  table: RecognizabilityRow[];
  model_layer_anova: ModelLayerAnova | null;
  human_vs_model: HumanVsModel[];
  other_model: OtherModelResult | null;
  notes: string[];
}

export function analyzeCounts(allCounts: StudyCounts, options: Partial<AnalyzeOptions> = {}): AnalysisResult {
  const o: AnalyzeOptions = { ...DEFAULT_ANALYZE_OPTIONS, ...options };
  const notes: string[] = [];
  // Exclusions judge participants on all their trials; the level choice then narrows what is reported.
  const { included, report } = applyExclusions(allCounts, o.exclusions, o.flags);
  const counts = chooseLevels(allCounts, o.levels);
  const progress = (stage: string) => (o.onProgress ? (d: number, t: number) => o.onProgress!(stage, d, t) : undefined);
  const table = recognizabilityTable(counts, included, {
    bootstrap: o.bootstrap,
    seed: o.seed,
    ciLevel: o.ciLevel,
    bootstrapTrials: o.bootstrapTrials,
    choices: o.choices,
    onProgress: progress('bootstrap'),
  });
  if (table.every((r) => r.n_participants === 0)) notes.push('no included participant has main trials yet, so the table is empty');
  if (o.choices === null) notes.push('chance is empty: the number of response choices is unknown (pass --choices)');

  let anova: ModelLayerAnova | null = null;
  let hvm: HumanVsModel[] = [];
  let other: OtherModelResult | null = null;
  if (o.statistics) {
    const models = modelsOf(counts);
    const stats = { permutations: o.permutations, seed: o.seed, scheme: o.permutationScheme };
    if (o.compare !== null) {
      const chosen = o.compare === 'all' ? models : [...o.compare];
      try {
        const stage = chosen.length === 1 ? 'layer ANOVA' : 'model × layer ANOVA';
        anova = modelLayerAnova(counts, included, chosen, { ...stats, onProgress: progress(stage) });
      } catch (e) {
        if (!(e instanceof AnalysisInputError) || o.anovaProblems === 'throw') throw e;
        notes.push(`ANOVA not run: ${e.message}`);
      }
    } else if (models.length >= 1) {
      notes.push('ANOVA not run: choose the models with --compare <a,b> (or --compare all; one model: the one-way ANOVA over its levels)');
    }
    hvm = humanVsModel(counts, included, { ...stats, seed: o.seed + 1, onProgress: progress('human vs model') });
    if (hvm.length === 0 && counts.network.size === 0) notes.push('human vs model not run: the stimuli carry no model predictions');
    if (o.predictions && o.predictions.length > 0) {
      if ((!o.stimuli || o.stimuli.size === 0) && !o.predictions.some((pr) => pr.stimulus)) {
        notes.push('other-model recognizability not run: the trials name no stimuli (stimulus_id and category columns)');
      } else {
        other = otherModelRecognizability(o.stimuli ?? new Map(), o.predictions, table, {
          permutations: o.permutations,
          seed: o.seed + 2,
          stimuli: o.otherModelStimuli,
          inTrials: o.stimuliInTrials,
        });
        if (other.unknown_stimuli > 0)
          notes.push(`${other.unknown_stimuli} prediction(s) refer to stimuli this study does not know and were left out`);
        if (other.unseen_stimuli > 0) {
          notes.push(`${other.unseen_stimuli} prediction(s) for stimuli no main trial showed were left out (--other-model-stimuli trials)`);
        }
      }
    }
  }
  return {
    study_id: counts.study_id,
    options: {
      bootstrap: o.bootstrap,
      bootstrap_trials: o.bootstrapTrials,
      ci_level: o.ciLevel,
      seed: o.seed,
      permutations: o.permutations,
      permutation_scheme: o.permutationScheme,
      choices: o.choices,
      layers: o.levels.layers?.length ? [...o.levels.layers] : null,
      drop_layers: o.levels.dropLayers?.length ? [...o.levels.dropLayers] : null,
      other_model_stimuli: o.otherModelStimuli,
    },
    exclusions: report,
    table,
    model_layer_anova: anova,
    human_vs_model: hvm,
    other_model: other,
    notes,
  };
}

/**
 * For the dashboard: trial rows (the `trial_rows` view's shape, or the trials CSV's columns as
 * objects) + options → the recognizability table of every study in the rows. Rows are validated
 * with the `TrialRow` schema; a bad row throws AnalysisInputError naming the row and field.
 */
export function recognizabilityTableFromRows(
  rows: Iterable<TrialRowInput>,
  options: Partial<Omit<AnalyzeOptions, 'statistics'>> & { studyId?: string; modelOrder?: readonly string[] } = {},
): RecognizabilityRow[] {
  return analyzeTrialRows(rows, { ...options, statistics: false }).flatMap((r) => r.table);
}

/** Like `recognizabilityTableFromRows`, with exclusions and statistics: one result per study. */
export function analyzeTrialRows(
  rows: Iterable<TrialRowInput>,
  options: Partial<AnalyzeOptions> & { studyId?: string; modelOrder?: readonly string[] } = {},
): AnalysisResult[] {
  const acc = new TrialAccumulator(options.studyId ?? 'study', options.modelOrder);
  let i = 0;
  for (const raw of rows) {
    const parsed = TrialRow.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AnalysisInputError(`trial row ${i}: ${issue.path.join('.') || '(row)'}: ${issue.message}`);
    }
    try {
      acc.push(parsed.data);
    } catch (e) {
      if (e instanceof AnalysisInputError) throw new AnalysisInputError(`trial row ${i}: ${e.message}`);
      throw e;
    }
    i++;
  }
  return acc.studies().map(({ counts, stimuli }) =>
    analyzeCounts(counts, {
      ...options,
      stimuli: options.stimuli ?? stimuli,
      stimuliInTrials: options.stimuliInTrials ?? new Set(stimuli.keys()),
    }),
  );
}
