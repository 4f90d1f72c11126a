/**
 * "Other-model recognizability" (docs/design.md §5): how well models other than the generating one
 * classify a model's metamers, per (generating model, layer), compared with human recognizability
 * across those conditions by Pearson's r (and R²), Spearman's ρ and Kendall's τ_b. For each
 * condition, each other observer model's accuracy is taken over the condition's stimuli it has
 * predictions for; the condition's value is the mean of those accuracies. The natural condition is
 * not part of the comparison (there is no generating model to leave out).
 *
 * Which stimuli: by default (`all`) every stimulus of the condition the predictions cover, as the
 * paper scores each observer model on all metamers generated for a condition (not only those a
 * participant happened to see); `trials` keeps only stimuli shown in main trials.
 */
import { type Correlations, correlations, type KendallResult, type PearsonResult } from './correlations.ts';
import type { RecognizabilityRow } from './recognizability.ts';
import type { SpearmanResult } from './spearman.ts';
import { NATURAL_LAYER } from './trial-row.ts';

export const OTHER_MODEL_STIMULI = ['all', 'trials'] as const;
export type OtherModelStimuli = (typeof OTHER_MODEL_STIMULI)[number];

export interface StimulusInfo {
  category: string;
  model: string;
  layer: string;
  layer_index: number;
}

export interface Prediction {
  stimulus_id: string;
  observer_model: string;
  predicted_category: string;
  /** The stimulus itself, when the predictions file describes it (so stimuli nobody saw count too). */
  stimulus?: StimulusInfo;
}

export interface OtherModelRow {
  model: string;
  layer: string;
  layer_index: number;
  n_stimuli: number;
  n_observers: number;
  other_model_recognizability: number | null;
  human_recognizability: number | null;
}

export interface OtherModelResult {
  /** Which stimuli were scored: every stimulus of a condition (`all`, the paper's) or those in trials. */
  stimuli: OtherModelStimuli;
  observers: string[];
  rows: OtherModelRow[];
  /** Across conditions with both values; null below three conditions. */
  pearson: PearsonResult | null;
  spearman: SpearmanResult | null;
  kendall: KendallResult | null;
  /** Predictions for stimuli the study does not know (left out). */
  unknown_stimuli: number;
  /** Predictions for known stimuli left out because no main trial showed them (`trials` only). */
  unseen_stimuli: number;
}

export interface OtherModelOptions {
  permutations: number;
  seed: number;
  stimuli?: OtherModelStimuli;
  /** Stimulus ids shown in main trials; required for `trials`. */
  inTrials?: ReadonlySet<string>;
}

export function otherModelRecognizability(
  stimuli: ReadonlyMap<string, StimulusInfo>,
  predictions: Iterable<Prediction>,
  table: readonly RecognizabilityRow[],
  opts: OtherModelOptions,
): OtherModelResult {
  const mode = opts.stimuli ?? 'all';
  if (mode === 'trials' && !opts.inTrials) {
    throw new RangeError('other-model recognizability over stimuli in trials needs the set of those stimuli');
  }
  // condition key → observer → [correct, total]
  const acc = new Map<string, Map<string, [number, number]>>();
  const stimuliPer = new Map<string, Set<string>>();
  const observers = new Set<string>();
  let unknown = 0;
  let unseen = 0;
  for (const pr of predictions) {
    const s = stimuli.get(pr.stimulus_id) ?? pr.stimulus;
    if (!s) {
      unknown++;
      continue;
    }
    if (mode === 'trials' && !opts.inTrials!.has(pr.stimulus_id)) {
      unseen++;
      continue;
    }
    observers.add(pr.observer_model);
    if (s.layer === NATURAL_LAYER || pr.observer_model === s.model) continue;
    const key = `${s.model}\u0000${s.layer}`;
    let byObserver = acc.get(key);
    if (!byObserver) acc.set(key, (byObserver = new Map()));
    const cell = byObserver.get(pr.observer_model) ?? [0, 0];
    cell[0] += pr.predicted_category === s.category ? 1 : 0;
    cell[1] += 1;
    byObserver.set(pr.observer_model, cell);
    let set = stimuliPer.get(key);
    if (!set) stimuliPer.set(key, (set = new Set()));
    set.add(pr.stimulus_id);
  }
  const rows: OtherModelRow[] = [];
  for (const t of table) {
    if (t.model === '') continue;
    const key = `${t.model}\u0000${t.layer}`;
    const byObserver = acc.get(key);
    let sum = 0;
    let m = 0;
    for (const [, [k, n]] of byObserver ?? []) {
      sum += k / n;
      m++;
    }
    rows.push({
      model: t.model,
      layer: t.layer,
      layer_index: t.layer_index,
      n_stimuli: stimuliPer.get(key)?.size ?? 0,
      n_observers: m,
      other_model_recognizability: m > 0 ? sum / m : null,
      human_recognizability: t.recognizability,
    });
  }
  const paired = rows.filter((r) => r.other_model_recognizability !== null && r.human_recognizability !== null);
  const c: Correlations | null =
    paired.length >= 3
      ? correlations(
          paired.map((r) => r.other_model_recognizability!),
          paired.map((r) => r.human_recognizability!),
          opts,
        )
      : null;
  return {
    stimuli: mode,
    observers: [...observers].sort(),
    rows,
    pearson: c?.pearson ?? null,
    spearman: c?.spearman ?? null,
    kendall: c?.kendall ?? null,
    unknown_stimuli: unknown,
    unseen_stimuli: unseen,
  };
}
