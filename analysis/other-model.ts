/**
 * "Other-model recognizability" (docs/design.md §5): how well models other than the generating one
 * classify a model's metamers, per (generating model, layer), compared with human recognizability
 * by Spearman correlation across those conditions. For each condition, each other observer model's
 * accuracy is taken over the condition's stimuli it has predictions for; the condition's value is
 * the mean of those accuracies. The natural condition is not part of the comparison (there is no
 * generating model to leave out).
 */
import type { RecognizabilityRow } from './recognizability.ts';
import { spearman, type SpearmanResult } from './spearman.ts';
import { NATURAL_LAYER } from './trial-row.ts';

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
  observers: string[];
  rows: OtherModelRow[];
  /** Across conditions with both values; null below three conditions. */
  spearman: SpearmanResult | null;
  /** Predictions for stimuli the study does not know (left out). */
  unknown_stimuli: number;
}

export function otherModelRecognizability(
  stimuli: ReadonlyMap<string, StimulusInfo>,
  predictions: Iterable<Prediction>,
  table: readonly RecognizabilityRow[],
  opts: { permutations: number; seed: number },
): OtherModelResult {
  // condition key → observer → [correct, total]
  const acc = new Map<string, Map<string, [number, number]>>();
  const stimuliPer = new Map<string, Set<string>>();
  const observers = new Set<string>();
  let unknown = 0;
  for (const pr of predictions) {
    const s = stimuli.get(pr.stimulus_id);
    if (!s) {
      unknown++;
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
  const rho =
    paired.length >= 3
      ? spearman(
          paired.map((r) => r.other_model_recognizability!),
          paired.map((r) => r.human_recognizability!),
          opts,
        )
      : null;
  return { observers: [...observers].sort(), rows, spearman: rho, unknown_stimuli: unknown };
}
