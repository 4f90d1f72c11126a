/**
 * Projected gradient descent in an L2 ball (Madry et al. 2018), the attack behind the demo's
 * robust models: random start inside the ball, `steps` normalised-gradient ascent steps on the
 * cross-entropy, each projected back onto the ball and the valid input range.
 */
import type { Cnn } from './cnn.ts';
import type { SeededRandom } from './seeded-random.ts';
import { softmaxCrossEntropy } from './tensor-kernels.ts';
import type { Perturbation } from './training.ts';

export interface PgdSettings {
  /** Radius of the L2 ball around the clean input. */
  epsilon: number;
  steps: number;
  /** Step length as a multiple of epsilon / steps (2.5 in Madry et al.). */
  stepScale: number;
  /** The valid input range (pixels [0, 1]; waveforms [−1, 1]). */
  min: number;
  max: number;
}

export function pgdL2(net: Cnn, clean: Float32Array, label: number, s: PgdSettings, rng: SeededRandom): Float32Array {
  const n = clean.length;
  const delta = new Float32Array(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    delta[i] = rng.gaussian();
    norm += delta[i]! * delta[i]!;
  }
  // A uniform radius in [0, ε) along a random direction.
  const r0 = (s.epsilon * rng.next()) / Math.sqrt(norm);
  for (let i = 0; i < n; i++) delta[i] = delta[i]! * r0;
  const x = new Float32Array(n);
  const dLogits = new Float32Array(net.spec.classes);
  const stepLength = (s.stepScale * s.epsilon) / s.steps;
  for (let step = 0; step <= s.steps; step++) {
    for (let i = 0; i < n; i++) x[i] = Math.min(s.max, Math.max(s.min, clean[i]! + delta[i]!));
    if (step === s.steps) break;
    softmaxCrossEntropy(net.forward(x), label, dLogits);
    const g = net.backward(net.finalIndex, dLogits, null);
    let gn = 0;
    for (let i = 0; i < n; i++) gn += g[i]! * g[i]!;
    gn = Math.sqrt(gn);
    if (gn === 0) break;
    for (let i = 0; i < n; i++) delta[i] = x[i]! - clean[i]! + (stepLength * g[i]!) / gn;
    let dn = 0;
    for (let i = 0; i < n; i++) dn += delta[i]! * delta[i]!;
    dn = Math.sqrt(dn);
    if (dn > s.epsilon) for (let i = 0; i < n; i++) delta[i] = (delta[i]! * s.epsilon) / dn;
  }
  return x;
}

export function pgdPerturbation(settings: PgdSettings, rng: SeededRandom): Perturbation {
  return (net, input, label) => pgdL2(net, input, label, settings, rng);
}

/** Accuracy under the attack: how robust the trained model actually is. */
export function robustAccuracy(
  net: Cnn,
  examples: ReadonlyArray<{ input: Float32Array; label: number }>,
  settings: PgdSettings,
  rng: SeededRandom,
): number {
  let correct = 0;
  for (const ex of examples) if (net.predict(pgdL2(net, ex.input, ex.label, settings, rng)) === ex.label) correct++;
  return correct / examples.length;
}
