/**
 * Mini-batch training of a `Cnn` with Adam, a short warm-up and a cosine learning-rate schedule. Adversarial
 * training (Madry et al. 2018) is the same loop with each example replaced by its PGD
 * perturbation before the weight gradient is taken (see `adversarial-training.ts`).
 */
import { Adam } from './adam.ts';
import type { Cnn } from './cnn.ts';
import type { SeededRandom } from './seeded-random.ts';
import { softmaxCrossEntropy } from './tensor-kernels.ts';

export interface LabelledExample {
  input: Float32Array;
  label: number;
}

export interface TrainSettings {
  /** The most epochs; the cosine schedule spans all of them. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Stop after the first epoch whose accuracy on the validation examples reaches this. */
  stopAtValidationAccuracy?: number;
}

/** A label-preserving random transform of a training input (data augmentation). */
export type Augmentation = (input: Float32Array, rng: SeededRandom) => Float32Array;

/** Replaces an example's input by a harder one (identity for standard training). */
export type Perturbation = (net: Cnn, input: Float32Array, label: number) => Float32Array;

export interface EpochLog {
  epoch: number;
  meanLoss: number;
  trainAccuracy: number;
  /** On the validation examples (a split apart from training and held-out test), when given. */
  validationAccuracy: number | null;
  seconds: number;
}

export function trainClassifier(
  net: Cnn,
  examples: readonly LabelledExample[],
  settings: TrainSettings,
  rng: SeededRandom,
  perturb: Perturbation | null,
  augment: Augmentation | null,
  onEpoch?: (log: EpochLog) => void,
  validation: readonly LabelledExample[] = [],
): EpochLog[] {
  const adam = new Adam(net.params.length);
  const grad = new Float32Array(net.params.length);
  const dLogits = new Float32Array(net.spec.classes);
  const order = examples.map((_, i) => i);
  const stepsPerEpoch = Math.ceil(examples.length / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  const logs: EpochLog[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    const started = performance.now();
    rng.shuffle(order);
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < examples.length; b += settings.batchSize) {
      grad.fill(0);
      const end = Math.min(examples.length, b + settings.batchSize);
      for (let k = b; k < end; k++) {
        const ex = examples[order[k]!]!;
        const seen = augment ? augment(ex.input, rng) : ex.input;
        const input = perturb ? perturb(net, seen, ex.label) : seen;
        const logits = net.forward(input);
        lossSum += softmaxCrossEntropy(logits, ex.label, dLogits);
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
        if (best === ex.label) correct++;
        net.backward(net.finalIndex, dLogits, grad, false);
      }
      const inv = 1 / (end - b);
      for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * inv;
      // Linear warm-up over the first 5% of steps (large early steps kill ReLUs in a net
      // without normalisation layers), then cosine decay to zero.
      const warm = Math.min(1, (step + 1) / Math.max(1, 0.05 * totalSteps));
      const lr = warm * settings.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / totalSteps));
      adam.step(net.params, grad, lr);
      net.version++;
      step++;
    }
    const log: EpochLog = {
      epoch,
      meanLoss: lossSum / examples.length,
      trainAccuracy: correct / examples.length,
      validationAccuracy: validation.length ? accuracy(net, validation) : null,
      seconds: (performance.now() - started) / 1000,
    };
    logs.push(log);
    onEpoch?.(log);
    const target = settings.stopAtValidationAccuracy;
    if (target !== undefined && log.validationAccuracy !== null && log.validationAccuracy >= target) break;
  }
  return logs;
}

export function accuracy(net: Cnn, examples: readonly LabelledExample[]): number {
  let correct = 0;
  for (const ex of examples) if (net.predict(ex.input) === ex.label) correct++;
  return correct / examples.length;
}
