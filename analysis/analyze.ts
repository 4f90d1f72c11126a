/**
 * From study counts to everything the paper reports: exclusions, the recognizability table and the
 * statistics. Pure (no I/O); loaders produce the counts, the CLI and the dashboard consume this.
 */
import { applyExclusions, DEFAULT_EXCLUSIONS, type ExclusionReport, type ExclusionRules, type ParticipantFlags } from './exclusions.ts';
import { AnalysisInputError } from './input-error.ts';
import { otherModelRecognizability, type OtherModelResult, type Prediction, type StimulusInfo } from './other-model.ts';
import { humanVsModel, type HumanVsModel, modelLayerAnova, type ModelLayerAnova } from './paper-statistics.ts';
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
  /** Models for the model × layer ANOVA: a list, 'all', or null to skip it. */
  compare: readonly string[] | 'all' | null;
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
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = {
  bootstrap: 10_000,
  seed: 1,
  ciLevel: 0.95,
  bootstrapTrials: false,
  permutations: 10_000,
  compare: null,
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
    choices: number | null;
  };
  exclusions: ExclusionReport;
  table: RecognizabilityRow[];
  model_layer_anova: ModelLayerAnova | null;
  human_vs_model: HumanVsModel[];
  other_model: OtherModelResult | null;
  notes: string[];
}

export function analyzeCounts(counts: StudyCounts, options: Partial<AnalyzeOptions> = {}): AnalysisResult {
  const o: AnalyzeOptions = { ...DEFAULT_ANALYZE_OPTIONS, ...options };
  const notes: string[] = [];
  const { included, report } = applyExclusions(counts, o.exclusions, o.flags);
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
    if (o.compare !== null) {
      const chosen = o.compare === 'all' ? models : [...o.compare];
      anova = modelLayerAnova(counts, included, chosen, { permutations: o.permutations, seed: o.seed, onProgress: progress('model × layer ANOVA') });
    } else if (models.length >= 2) {
      notes.push('model × layer ANOVA not run: choose the models with --compare <a,b> (or --compare all)');
    }
    hvm = humanVsModel(counts, included, { permutations: o.permutations, seed: o.seed + 1, onProgress: progress('human vs model') });
    if (hvm.length === 0 && counts.network.size === 0) notes.push('human vs model not run: the stimuli carry no model predictions');
    if (o.predictions && o.predictions.length > 0) {
      if (!o.stimuli || o.stimuli.size === 0) {
        notes.push('other-model recognizability not run: the trials name no stimuli (stimulus_id and category columns)');
      } else {
        other = otherModelRecognizability(o.stimuli, o.predictions, table, { permutations: o.permutations, seed: o.seed + 2 });
        if (other.unknown_stimuli > 0) notes.push(`${other.unknown_stimuli} prediction(s) refer to stimuli this study does not know and were left out`);
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
      choices: o.choices,
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
  return acc.studies().map(({ counts, stimuli }) => analyzeCounts(counts, { ...options, stimuli: options.stimuli ?? stimuli }));
}
