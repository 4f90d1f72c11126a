/**
 * Which levels (conditions) enter the table and the statistics: `--layers` keeps only the named
 * levels, `--drop-layers` leaves the named ones out; the study config's `analysis` block says the
 * same for a study (`layers`, `drop_layers`), the command line taking precedence. The paper needs
 * this: its one-way ANOVAs of HMAX and the spectro-temporal model, and the CLIP ResNet50
 * human-vs-network ANOVA, leave out the final (classifier) layer
 * (matlab_statistics_functions/run_human_layer_effect_anova_from_data_matrix_path.m drops the
 * last column of the data matrix).
 *
 * A name matches a level by its layer (`final`: that layer of every model), by `model/layer`
 * (`CLIP_resnet50/final`: one model's), or `natural` for the natural condition. With `--layers`,
 * what is not named is left out, the natural condition included.
 */
import { z } from 'zod';
import { AnalysisInputError } from './input-error.ts';
import { isNaturalCondition, type StudyCounts } from './study-counts.ts';
import { NATURAL_LAYER } from './trial-row.ts';

/** The study config's `analysis` block (server/study-config.ts uses this schema; analysis owns it). */
export const AnalysisConfig = z.strictObject({
  /** Levels to keep (`layer`, `model/layer` or `natural`); absent: all. */
  layers: z.array(z.string().min(1)).min(1).optional(),
  /** Levels to leave out, in the same forms. */
  drop_layers: z.array(z.string().min(1)).optional(),
});
export type AnalysisConfig = z.output<typeof AnalysisConfig>;

export interface LevelChoice {
  layers?: readonly string[] | null;
  dropLayers?: readonly string[] | null;
  /** How the lists are named in errors (e.g. `--layers`, or `analysis.layers` of the study config). */
  source?: { layers: string; dropLayers: string };
}

function matches(name: string, c: StudyCounts['conditions'][number]): boolean {
  if (isNaturalCondition(c)) return name === NATURAL_LAYER;
  return name === c.layer || name === `${c.model}/${c.layer}`;
}

function matched(counts: StudyCounts, names: readonly string[], option: string): Set<number> {
  const out = new Set<number>();
  for (const name of names) {
    const hits = counts.conditions.flatMap((c, i) => (matches(name, c) ? [i] : []));
    if (hits.length === 0) {
      const known = [...new Set(counts.conditions.map((c) => (isNaturalCondition(c) ? NATURAL_LAYER : c.layer)))];
      throw new AnalysisInputError(
        `${option}: "${name}" names no level of study ${counts.study_id} (levels: ${known.join(', ')}; or model/layer)`,
      );
    }
    for (const i of hits) out.add(i);
  }
  return out;
}

/** Counts restricted to the chosen levels (the same object when nothing is chosen). */
export function chooseLevels(counts: StudyCounts, choice: LevelChoice): StudyCounts {
  const source = choice.source ?? { layers: '--layers', dropLayers: '--drop-layers' };
  if (!choice.layers?.length && !choice.dropLayers?.length) return counts;
  let keep = counts.conditions.map((_, i) => i);
  if (choice.layers?.length) {
    const chosen = matched(counts, choice.layers, source.layers);
    keep = keep.filter((i) => chosen.has(i));
  }
  if (choice.dropLayers?.length) {
    const dropped = matched(counts, choice.dropLayers, source.dropLayers);
    keep = keep.filter((i) => !dropped.has(i));
  }
  if (keep.length === 0) throw new AnalysisInputError(`${source.layers} / ${source.dropLayers} leave no level of study ${counts.study_id}`);
  return selectConditions(counts, keep);
}

/** The counts of the given condition columns, in that order. */
export function selectConditions(counts: StudyCounts, keep: readonly number[]): StudyCounts {
  const C = counts.conditions.length;
  const P = counts.participants.length;
  const K = keep.length;
  const pick = (a: Uint32Array): Uint32Array => {
    const out = new Uint32Array(P * K);
    for (let p = 0; p < P; p++) for (let j = 0; j < K; j++) out[p * K + j] = a[p * C + keep[j]!]!;
    return out;
  };
  return {
    ...counts,
    conditions: keep.map((i) => counts.conditions[i]!),
    correct: pick(counts.correct),
    total: pick(counts.total),
    network: new Map([...counts.network].map(([m, oc]) => [m, { correct: pick(oc.correct), total: pick(oc.total) }])),
  };
}
