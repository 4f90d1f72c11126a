/**
 * The paper's model-side checks on a metamer (Feather et al. 2023, Methods): it is kept only if
 * (a) the generating model's predicted class on it equals its prediction on the natural source,
 * and (b) its activation match at the generation layer beats a null distribution: its
 * normalised distance to the source must be smaller than that of every one of the random pairs
 * of natural stimuli in the null sample.
 */
import type { Cnn } from './cnn.ts';
import type { SeededRandom } from './seeded-random.ts';
import { normalisedDistance } from './tensor-kernels.ts';

/** Normalised distances between the activations of `pairs` random pairs of distinct naturals. */
export function nullDistances(net: Cnn, layer: number, naturals: readonly Float32Array[], pairs: number, rng: SeededRandom): number[] {
  if (naturals.length < 2) throw new Error('a null distribution needs at least two natural stimuli');
  const acts = naturals.map((x) => net.activations(x, layer));
  const out: number[] = [];
  for (let k = 0; k < pairs; k++) {
    const i = rng.int(acts.length);
    let j = rng.int(acts.length - 1);
    if (j >= i) j++;
    out.push(normalisedDistance(acts[i]!, acts[j]!));
  }
  return out;
}

export interface NullSummary {
  /** The threshold a metamer must beat: the smallest null distance. */
  threshold: number;
  median: number;
  pairs: number;
}

export function summariseNull(distances: readonly number[]): NullSummary {
  const sorted = [...distances].sort((a, b) => a - b);
  return { threshold: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, pairs: sorted.length };
}

export type CheckFailure = 'prediction_mismatch' | 'match_not_better_than_null';

export interface CheckResult {
  passed: boolean;
  failures: CheckFailure[];
  /** Human-readable reasons, one per failure. */
  reasons: string[];
  matchDistance: number;
  nullThreshold: number;
  prediction: number;
  sourcePrediction: number;
}

export function checkMetamer(
  net: Cnn,
  layer: number,
  source: Float32Array,
  candidate: Float32Array,
  nullThreshold: number,
  categories: readonly string[],
): CheckResult {
  const sourcePrediction = net.predict(source);
  const target = net.activations(source, layer);
  const prediction = net.predict(candidate);
  const matchDistance = normalisedDistance(net.activations(candidate, layer), target);
  const failures: CheckFailure[] = [];
  const reasons: string[] = [];
  if (prediction !== sourcePrediction) {
    failures.push('prediction_mismatch');
    reasons.push(`model predicts "${categories[prediction]}" on the metamer but "${categories[sourcePrediction]}" on the source`);
  }
  if (!(matchDistance < nullThreshold)) {
    failures.push('match_not_better_than_null');
    reasons.push(`activation distance ${matchDistance.toPrecision(3)} is not below the null minimum ${nullThreshold.toPrecision(3)}`);
  }
  return { passed: failures.length === 0, failures, reasons, matchDistance, nullThreshold, prediction, sourcePrediction };
}
