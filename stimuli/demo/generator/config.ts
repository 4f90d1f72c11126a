/**
 * Every size, count and setting of the demo generation, for the real run and for quick mode.
 * Quick mode runs the same code at toy sizes in seconds (tests); only the real run's outputs
 * are committed, and the card's figures come from it.
 */
import type { PgdSettings } from './adversarial-training.ts';
import type { CnnSpec, StageSpec } from './cnn.ts';
import type { SynthesisSettings } from './metamer-synthesis.ts';
import type { TrainSettings } from './training.ts';

export type ModalityName = 'image' | 'audio';

export interface ModalityConfig {
  /** Model names in the manifest, [standard, adversarially trained]. */
  models: [string, string];
  trainPerCategory: number;
  /** Validation examples per category, for early stopping only (never the reported held-out set). */
  validationPerCategory: number;
  testPerCategory: number;
  /** Main sources per category (each gets metamers at every layer of both models). */
  sourcesPerCategory: number;
  /** Natural-only sources per category for practice, screening and catch trials. */
  practicePerCategory: number;
  nullPairs: number;
  spec: CnnSpec;
  training: TrainSettings;
  /** Training of the adversarially trained model (on PGD examples only). */
  robustTraining: TrainSettings;
  /**
   * Where the robust model starts: random weights (as in the paper), or the trained standard
   * model's weights (adversarial fine-tuning), which costs a fraction of training from scratch
   * but leaves the two models sharing features, so each recognises more of the other's metamers.
   */
  robustFrom: 'scratch' | 'standard';
  pgd: PgdSettings;
  synthesis: SynthesisSettings;
  /** Standard deviation of the Gaussian noise a metamer starts from (around `noiseMean`). */
  noiseStd: number;
  noiseMean: number;
}

export interface ImageConfig extends ModalityConfig {
  size: number;
  masks: number;
}

export interface AudioConfig extends ModalityConfig {
  sampleRate: number;
  length: number;
}

export interface DemoConfig {
  seed: number;
  quick: boolean;
  image: ImageConfig;
  audio: AudioConfig;
}

function conv2d(name: string, outC: number, k: number, stride: number): StageSpec {
  return { name, outC, kH: k, kW: k, strideH: stride, strideW: stride, padH: Math.floor(k / 2), padW: Math.floor(k / 2) };
}

function conv1d(name: string, outC: number, k: number, stride: number, pad: number): StageSpec {
  return { name, outC, kH: 1, kW: k, strideH: 1, strideW: stride, padH: 0, padW: pad };
}

export function imageSpec(size: number, channels: [number, number, number, number], classes: number): CnnSpec {
  return {
    input: [1, size, size],
    inputOffset: 0.5,
    classes,
    stages: [
      conv2d('conv1_relu', channels[0], 5, 2),
      conv2d('conv2_relu', channels[1], 3, 2),
      conv2d('conv3_relu', channels[2], 3, 2),
      conv2d('conv4_relu', channels[3], 3, 2),
    ],
  };
}

export function audioSpec(length: number, channels: [number, number, number, number], classes: number): CnnSpec {
  return {
    input: [1, 1, length],
    inputOffset: 0,
    classes,
    stages: [
      // 3 ms filters every 1 ms at 16 kHz: a learned filter bank, rectified.
      conv1d('conv1_relu', channels[0], 48, 16, 16),
      conv1d('conv2_relu', channels[1], 6, 4, 1),
      conv1d('conv3_relu', channels[2], 5, 2, 2),
      conv1d('conv4_relu', channels[3], 5, 2, 2),
    ],
  };
}

/** The paper's fake ReLU at the matched layer, leaky derivatives below it (see `ReluSurrogate`). */
const SURROGATE = { matched: 1, below: 0.1 };

export const IMAGE_CATEGORY_COUNT = 16;
export const AUDIO_CATEGORY_COUNT = 8;

export function demoConfig(quick: boolean, seed = 20231016): DemoConfig {
  if (quick) {
    return {
      seed,
      quick,
      image: {
        models: ['standard_cnn', 'robust_cnn'],
        size: 32,
        masks: 2,
        trainPerCategory: 6,
        validationPerCategory: 1,
        testPerCategory: 2,
        sourcesPerCategory: 1,
        practicePerCategory: 1,
        nullPairs: 50,
        spec: imageSpec(32, [4, 6, 8, 8], IMAGE_CATEGORY_COUNT),
        training: { epochs: 2, batchSize: 8, learningRate: 3e-3, stopAtValidationAccuracy: 0.99 },
        robustTraining: { epochs: 1, batchSize: 8, learningRate: 1e-3 },
        robustFrom: 'standard',
        pgd: { epsilon: 0.5, steps: 2, stepScale: 2.5, min: 0, max: 1 },
        synthesis: { iterations: 200, learningRate: 0.05, halvings: 10, min: 0, max: 1, surrogate: SURROGATE, quantisedFrom: 0.75 },
        noiseMean: 0.5,
        noiseStd: 0.15,
      },
      audio: {
        models: ['standard_audionet', 'robust_audionet'],
        sampleRate: 16000,
        length: 2048,
        trainPerCategory: 6,
        validationPerCategory: 1,
        testPerCategory: 2,
        sourcesPerCategory: 1,
        practicePerCategory: 1,
        nullPairs: 50,
        spec: audioSpec(2048, [4, 6, 8, 8], AUDIO_CATEGORY_COUNT),
        training: { epochs: 2, batchSize: 8, learningRate: 3e-3, stopAtValidationAccuracy: 0.99 },
        robustTraining: { epochs: 2, batchSize: 8, learningRate: 3e-3, stopAtValidationAccuracy: 0.99 },
        robustFrom: 'scratch',
        pgd: { epsilon: 0.2, steps: 2, stepScale: 2.5, min: -1, max: 1 },
        synthesis: { iterations: 200, learningRate: 0.01, halvings: 10, min: -1, max: 1, surrogate: SURROGATE, quantisedFrom: 0.75 },
        noiseMean: 0,
        noiseStd: 0.07,
      },
    };
  }
  return {
    seed,
    quick,
    image: {
      models: ['standard_cnn', 'robust_cnn'],
      size: 64,
      masks: 6,
      trainPerCategory: 250,
      validationPerCategory: 15,
      testPerCategory: 25,
      sourcesPerCategory: 4,
      practicePerCategory: 2,
      nullPairs: 1000,
      spec: imageSpec(64, [12, 16, 48, 64], IMAGE_CATEGORY_COUNT),
      training: { epochs: 14, batchSize: 8, learningRate: 6e-3, stopAtValidationAccuracy: 0.94 },
      robustTraining: { epochs: 4, batchSize: 8, learningRate: 1e-3 },
      robustFrom: 'standard',
      pgd: { epsilon: 0.5, steps: 2, stepScale: 2.5, min: 0, max: 1 },
      synthesis: { iterations: 200, learningRate: 0.05, halvings: 10, min: 0, max: 1, surrogate: SURROGATE, quantisedFrom: 0.75 },
      noiseMean: 0.5,
      noiseStd: 0.15,
    },
    audio: {
      models: ['standard_audionet', 'robust_audionet'],
      sampleRate: 16000,
      length: 16000,
      trainPerCategory: 300,
      validationPerCategory: 20,
      testPerCategory: 40,
      sourcesPerCategory: 4,
      practicePerCategory: 3,
      nullPairs: 1000,
      spec: audioSpec(16000, [12, 24, 32, 32], AUDIO_CATEGORY_COUNT),
      training: { epochs: 8, batchSize: 8, learningRate: 4e-3, stopAtValidationAccuracy: 0.98 },
      robustTraining: { epochs: 8, batchSize: 8, learningRate: 4e-3, stopAtValidationAccuracy: 0.95 },
      robustFrom: 'scratch',
      pgd: { epsilon: 0.4, steps: 2, stepScale: 2.5, min: -1, max: 1 },
      synthesis: { iterations: 200, learningRate: 0.01, halvings: 10, min: -1, max: 1, surrogate: SURROGATE, quantisedFrom: 0.75 },
      noiseMean: 0,
      noiseStd: 0.07,
    },
  };
}
