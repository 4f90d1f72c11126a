/**
 * Model metamers as in Feather et al. (2023): start from noise and descend on the input to
 * minimise the normalised L2 distance ‖a(x) − a(s)‖ / ‖a(s)‖ between the layer's activations for
 * the candidate x and for the natural source s, keeping x in the valid range. As in the paper:
 * Adam-like steps with the step size halved on a fixed schedule (here `halvings` equally spaced
 * halvings over far fewer iterations: the models are tiny), and a "fake ReLU" at the matched
 * layer; in addition, leaky ReLU derivatives below it (`ReluSurrogate`). Losses are always
 * measured with the true network, and the best iterate is kept.
 */
import { Adam } from './adam.ts';
import type { Cnn, ReluSurrogate } from './cnn.ts';

export interface SynthesisSettings {
  iterations: number;
  learningRate: number;
  /** How many times the step size is halved, at equal intervals. */
  halvings: number;
  min: number;
  max: number;
  /** Surrogate ReLU derivatives for the backward pass (see `ReluSurrogate`). */
  surrogate: ReluSurrogate;
  /**
   * From this fraction of the iterations on, the loss is taken at the quantised stimulus (the
   * bytes that will be written) and its gradient applied to the continuous one (a
   * straight-through estimate), so the match survives 8-bit rounding.
   */
  quantisedFrom: number;
}

/** How the written file constrains the stimulus. */
export interface StimulusFormat {
  /** The values the file will decode to (8-bit rounding). */
  quantise(x: Float32Array): Float32Array;
  /** Keep the stimulus at this RMS level (audio: every clip is presented at the same level). */
  rms?: number;
}

export interface SynthesisResult {
  stimulus: Float32Array;
  /** Normalised distance at the noise start and at the returned stimulus. */
  startLoss: number;
  finalLoss: number;
}

/** ‖a − t‖ / ‖t‖ and, into `grad`, its derivative with respect to a. */
export function activationLoss(a: Float32Array, target: Float32Array, targetNorm: number, grad: Float32Array | null): number {
  let d2 = 0;
  for (let i = 0; i < a.length; i++) {
    const e = a[i]! - target[i]!;
    d2 += e * e;
  }
  const d = Math.sqrt(d2);
  if (grad) {
    const scale = d > 0 ? 1 / (d * targetNorm) : 0;
    for (let i = 0; i < a.length; i++) grad[i] = (a[i]! - target[i]!) * scale;
  }
  return d / targetNorm;
}

/** Rescales x in place to the given RMS level, then clamps it to [min, max]. */
function holdLevel(x: Float32Array, rms: number, min: number, max: number): void {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  const gain = e > 0 ? rms / Math.sqrt(e / x.length) : 1;
  for (let i = 0; i < x.length; i++) x[i] = Math.min(max, Math.max(min, x[i]! * gain));
}

export function synthesiseMetamer(
  net: Cnn,
  layer: number,
  target: Float32Array,
  noise: Float32Array,
  s: SynthesisSettings,
  format: StimulusFormat | null = null,
): SynthesisResult {
  let targetNorm = 0;
  for (let i = 0; i < target.length; i++) targetNorm += target[i]! * target[i]!;
  targetNorm = Math.sqrt(targetNorm);
  if (!(targetNorm > 0)) throw new Error('the source activations are all zero: there is nothing to match');
  const x = Float32Array.from(noise);
  const constrain = (): void => {
    if (format?.rms !== undefined) holdLevel(x, format.rms, s.min, s.max);
    else for (let i = 0; i < x.length; i++) x[i] = Math.min(s.max, Math.max(s.min, x[i]!));
  };
  constrain();
  const dA = new Float32Array(target.length);
  const adam = new Adam(x.length);
  const startLoss = activationLoss(net.forward(x, layer), target, targetNorm, null);
  // Only quantised candidates can be returned when a format is given: they are the file's values.
  let best: Float32Array | null = format ? null : Float32Array.from(x);
  let bestLoss = format ? Infinity : startLoss;
  const interval = s.iterations / (s.halvings + 1);
  const quantiseAt = Math.floor(s.quantisedFrom * s.iterations);
  for (let it = 0; it <= s.iterations; it++) {
    const quantised = format !== null && it >= quantiseAt;
    const candidate = quantised ? format.quantise(x) : x;
    const loss = activationLoss(net.forward(candidate, layer), target, targetNorm, dA);
    if (loss < bestLoss && (quantised || format === null)) {
      bestLoss = loss;
      best = Float32Array.from(candidate);
    }
    if (it === s.iterations) break;
    const g = net.backward(layer, dA, null, true, s.surrogate);
    adam.step(x, g, s.learningRate * Math.pow(0.5, Math.floor(it / interval)));
    constrain();
  }
  return { stimulus: best!, startLoss, finalLoss: bestLoss };
}
