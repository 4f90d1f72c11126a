/**
 * Generates one demo stimulus set end to end: data, a standard and an adversarially trained
 * model, metamers for every layer of both, the model-side checks, and the set folder
 * (manifest, stimuli, masks, predictions, synthesis report, measured figures).
 *
 * The folder is built under a temporary name and renamed into place at the end, so a failed
 * run leaves the previous set untouched.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { median } from '../../../analysis/descriptive.ts';
import { NATURAL, type ManifestInput, type ManifestItemInput } from '../../manifest.ts';
import { pgdPerturbation, robustAccuracy } from './adversarial-training.ts';
import { AUDIO_CATEGORIES, AUDIO_RMS, audioAugmentation, audioExamples } from './audio-dataset.ts';
import { Cnn } from './cnn.ts';
import type { AudioConfig, DemoConfig, ImageConfig, ModalityConfig, ModalityName } from './config.ts';
import { contactSheet, type ContactSheetRow } from './contact-sheet.ts';
import { IMAGE_CATEGORIES, imageAugmentation, imageExamples } from './image-dataset.ts';
import { synthesiseMetamer, type StimulusFormat } from './metamer-synthesis.ts';
import { checkMetamer, nullDistances, summariseNull, type CheckFailure, type NullSummary } from './model-checks.ts';
import { pinkNoiseMask } from './noise-masks.ts';
import { spectrogram } from './spectrogram.ts';
import { SeededRandom } from './seeded-random.ts';
import { encodeGreyPng, encodeWav8 } from './stimulus-files.ts';
import { accuracy, trainClassifier, type Augmentation, type EpochLog, type LabelledExample } from './training.ts';

interface Modality {
  name: ModalityName;
  cfg: ModalityConfig;
  categories: readonly string[];
  ext: 'png' | 'wav';
  examples(perCategory: number, rng: SeededRandom): LabelledExample[];
  augment: Augmentation;
  encode(x: Float32Array): { bytes: Buffer; decoded: Float32Array };
  /** What the file format imposes on a metamer during synthesis. */
  format: StimulusFormat;
  /** Human-readable size, e.g. "64×64 px grey" or "1.00 s at 16000 Hz". */
  describe: string;
}

function imageModality(cfg: ImageConfig): Modality {
  return {
    name: 'image',
    cfg,
    categories: IMAGE_CATEGORIES,
    ext: 'png',
    examples: (n, rng) => imageExamples(n, cfg.size, rng),
    augment: imageAugmentation(cfg.size),
    encode: (x) => encodeGreyPng(x, cfg.size, cfg.size),
    format: { quantise: (x) => encodeGreyPng(x, cfg.size, cfg.size).decoded },
    describe: `${cfg.size}×${cfg.size} px, 8-bit grey PNG`,
  };
}

function audioModality(cfg: AudioConfig): Modality {
  return {
    name: 'audio',
    cfg,
    categories: AUDIO_CATEGORIES,
    ext: 'wav',
    examples: (n, rng) => audioExamples(n, cfg.length, cfg.sampleRate, rng),
    augment: audioAugmentation(cfg.length),
    encode: (x) => encodeWav8(x, cfg.sampleRate),
    // Metamers are held at the natural clips' RMS level throughout synthesis: normalising
    // afterwards would rescale every activation and undo the match at deep layers.
    format: { quantise: (x) => encodeWav8(x, cfg.sampleRate).decoded, rms: AUDIO_RMS },
    describe: `${(cfg.length / cfg.sampleRate).toFixed(2)} s at ${cfg.sampleRate} Hz, mono 8-bit PCM WAV`,
  };
}

export interface ModelReport {
  model: string;
  adversarial: boolean;
  parameters: number;
  macsPerForward: number;
  heldOutAccuracy: number;
  /** Accuracy on held-out examples under the PGD attack the robust model was trained with. */
  attackedAccuracy: number;
  epochs: EpochLog[];
  trainSeconds: number;
}

export interface LayerReport {
  model: string;
  layer: string;
  layer_index: number;
  attempted: number;
  passed: number;
  passRate: number;
  failures: Record<CheckFailure, number>;
  null: NullSummary;
  medianLossReduction: number;
  medianMatchDistance: number;
  /** On the metamers that passed: the generating model's accuracy, and the other model's. */
  ownAccuracy: number | null;
  otherModel: string;
  otherAccuracy: number | null;
}

export interface SetReport {
  modality: ModalityName;
  quick: boolean;
  seed: number;
  describe: string;
  categories: readonly string[];
  mainSources: number;
  practiceSources: number;
  trainExamples: number;
  heldOutExamples: number;
  config: ModalityConfig;
  models: ModelReport[];
  layers: LayerReport[];
  metamersAttempted: number;
  metamersPassed: number;
  items: number;
  masks: number;
}

export interface SetTimings {
  modality: ModalityName;
  dataSeconds: number;
  trainSeconds: Record<string, number>;
  synthesisSeconds: Record<string, number>;
  totalSeconds: number;
  /** CPU time of this process (user + system): the compute itself, whatever else shared the cores. */
  cpuSeconds: number;
}

interface Source {
  id: string;
  label: number;
  role: 'main' | 'practice';
  /** The natural stimulus as written (quantised). */
  decoded: Float32Array;
  file: string;
}

interface ReportRow {
  model: string;
  layer: string;
  layer_index: number;
  source_id: string;
  category: string;
  passed: boolean;
  failures: string;
  reasons: string;
  start_loss: number;
  final_loss: number;
  match_distance: number;
  null_threshold: number;
  model_prediction: string;
  source_prediction: string;
}

export const CONTACT_SHEET = 'contact-sheet.png';

const round = (v: number, digits = 6): number => Number(v.toPrecision(digits));

export function generateSet(
  modalityName: ModalityName,
  config: DemoConfig,
  outDir: string,
  log: (line: string) => void = () => {},
): { report: SetReport; timings: SetTimings } {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const m = modalityName === 'image' ? imageModality(config.image) : audioModality(config.audio);
  const cfg = m.cfg;
  const root = new SeededRandom(`${config.seed}:${m.name}`);
  const temp = `${outDir}.partial-${process.pid}`;
  // A run killed mid-way (the work is synchronous, so no signal handler runs) leaves its
  // partial folder behind: clear those of earlier runs.
  const parent = dirname(outDir);
  const stale = `${basename(outDir)}.partial-`;
  if (existsSync(parent))
    for (const e of readdirSync(parent)) if (e.startsWith(stale)) rmSync(join(parent, e), { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const write = (rel: string, bytes: Buffer | string): void => {
    const path = join(temp, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  };

  try {
    // Data: training and held-out examples, main and practice sources, each from its own stream.
    let t = performance.now();
    const train = m.examples(cfg.trainPerCategory, root.fork('train'));
    const heldOut = m.examples(cfg.testPerCategory, root.fork('held-out'));
    const validation = m.examples(cfg.validationPerCategory, root.fork('validation'));
    const sources: Source[] = [];
    const addSources = (role: 'main' | 'practice', perCategory: number, prefix: string): void => {
      m.examples(perCategory, root.fork(`sources:${role}`)).forEach((ex, i) => {
        const id = `${prefix}${String(i).padStart(3, '0')}`;
        const file = `${role === 'main' ? 'natural' : 'practice'}/${id}.${m.ext}`;
        const { bytes, decoded } = m.encode(ex.input);
        write(file, bytes);
        sources.push({ id, label: ex.label, role, decoded, file });
      });
    };
    addSources('main', cfg.sourcesPerCategory, 's');
    addSources('practice', cfg.practicePerCategory, 'p');
    const main = sources.filter((s) => s.role === 'main');
    const dataSeconds = (performance.now() - t) / 1000;
    log(
      `${m.name}: ${train.length} training, ${heldOut.length} held-out, ${main.length} main and ${sources.length - main.length} practice sources (${dataSeconds.toFixed(1)} s)`,
    );

    // Models: the same architecture, trained plainly and adversarially (PGD, L2).
    const nets: Cnn[] = [];
    const modelReports: ModelReport[] = [];
    const trainSeconds: Record<string, number> = {};
    cfg.models.forEach((model, k) => {
      const adversarial = k === 1;
      t = performance.now();
      const net = new Cnn(cfg.spec, root.fork(`init:${model}`));
      if (adversarial && cfg.robustFrom === 'standard') net.params.set(nets[0]!.params);
      else net.calibrate(train.slice(0, 64).map((e) => e.input));
      net.version++;
      const perturb = adversarial ? pgdPerturbation(cfg.pgd, root.fork(`pgd:${model}`)) : null;
      const settings = adversarial ? cfg.robustTraining : cfg.training;
      const epochs = trainClassifier(
        net,
        train,
        settings,
        root.fork(`order:${model}`),
        perturb,
        m.augment,
        (e) =>
          log(
            `${m.name}: ${model} epoch ${e.epoch}: loss ${e.meanLoss.toFixed(3)}, train accuracy ${e.trainAccuracy.toFixed(3)}, ` +
              `validation ${e.validationAccuracy?.toFixed(3)} (${e.seconds.toFixed(1)} s)`,
          ),
        validation,
      );
      trainSeconds[model] = (performance.now() - t) / 1000;
      const heldOutAccuracy = accuracy(net, heldOut);
      modelReports.push({
        model,
        adversarial,
        parameters: net.params.length,
        macsPerForward: net.macsUpTo(net.finalIndex),
        heldOutAccuracy,
        attackedAccuracy: 0,
        epochs: epochs.map((e) => ({ ...e, meanLoss: round(e.meanLoss, 4), trainAccuracy: round(e.trainAccuracy, 4), seconds: 0 })),
        trainSeconds: 0,
      });
      nets.push(net);
      log(`${m.name}: ${model} held-out accuracy ${(heldOutAccuracy * 100).toFixed(1)}% (${trainSeconds[model]!.toFixed(0)} s)`);
    });
    const attackSample = heldOut.slice(0, Math.min(heldOut.length, 4 * m.categories.length));
    modelReports.forEach((r, k) => {
      r.attackedAccuracy = robustAccuracy(nets[k]!, attackSample, cfg.pgd, root.fork(`attack:${r.model}`));
    });

    const predictionsOf = (x: Float32Array): Record<string, number> =>
      Object.fromEntries(cfg.models.map((model, k) => [model, nets[k]!.predict(x)]));

    // Items: the natural stimuli first.
    const items: ManifestItemInput[] = [];
    const predictionRows: Array<[string, string, string]> = [];
    const addItem = (item: ManifestItemInput, predictions: Record<string, number>, extra: Record<string, string | number>): void => {
      const attributes: Record<string, string | number> = { ...extra };
      for (const model of cfg.models) {
        attributes[`prediction_${model}`] = m.categories[predictions[model]!]!;
        predictionRows.push([item.id, model, m.categories[predictions[model]!]!]);
      }
      items.push({ ...item, attributes });
    };
    for (const s of sources) {
      addItem(
        { id: `${s.id}-natural`, file: s.file, category: m.categories[s.label]!, source_id: s.id, condition: NATURAL, role: s.role },
        predictionsOf(s.decoded),
        {},
      );
    }

    // Metamers: every layer of both models, for every main source, from noise.
    const reportRows: ReportRow[] = [];
    const layerReports: LayerReport[] = [];
    const synthesisSeconds: Record<string, number> = {};
    const sheetSource = main[0]!;
    const sheetRows: ContactSheetRow[] = [];
    const nullPool = heldOut.map((e) => e.input);
    cfg.models.forEach((model, k) => {
      const net = nets[k]!;
      const other = cfg.models[1 - k]!;
      const otherNet = nets[1 - k]!;
      t = performance.now();
      const sheetCells: ContactSheetRow['cells'] = [];
      net.layerNames.forEach((layer, layerIdx) => {
        const nul = summariseNull(nullDistances(net, layerIdx, nullPool, cfg.nullPairs, root.fork(`null:${model}:${layer}`)));
        const failures: Record<CheckFailure, number> = { prediction_mismatch: 0, match_not_better_than_null: 0 };
        let passed = 0;
        let own = 0;
        let otherCorrect = 0;
        const reductions: number[] = [];
        const distances: number[] = [];
        for (const s of main) {
          const noiseRng = root.fork(`noise:${model}:${layer}:${s.id}`);
          const noise = Float32Array.from({ length: net.inputSize }, () =>
            Math.min(cfg.synthesis.max, Math.max(cfg.synthesis.min, cfg.noiseMean + cfg.noiseStd * noiseRng.gaussian())),
          );
          const target = net.activations(s.decoded, layerIdx);
          const result = synthesiseMetamer(net, layerIdx, target, noise, cfg.synthesis, m.format);
          const { bytes, decoded } = m.encode(result.stimulus);
          const check = checkMetamer(net, layerIdx, s.decoded, decoded, nul.threshold, m.categories);
          reductions.push(result.startLoss / Math.max(result.finalLoss, 1e-12));
          distances.push(check.matchDistance);
          if (s === sheetSource) sheetCells.push({ pixels: decoded, passed: check.passed });
          const category = m.categories[s.label]!;
          reportRows.push({
            model,
            layer,
            layer_index: layerIdx + 1,
            source_id: s.id,
            category,
            passed: check.passed,
            failures: check.failures.join(';'),
            reasons: check.reasons.join('; '),
            start_loss: round(result.startLoss),
            final_loss: round(result.finalLoss),
            match_distance: round(check.matchDistance),
            null_threshold: round(nul.threshold),
            model_prediction: m.categories[check.prediction]!,
            source_prediction: m.categories[check.sourcePrediction]!,
          });
          for (const f of check.failures) failures[f]++;
          if (!check.passed) continue;
          passed++;
          const file = `${model}/${layer}/${s.id}.${m.ext}`;
          write(file, bytes);
          const predictions = predictionsOf(decoded);
          if (predictions[model] === s.label) own++;
          if (predictions[other] === s.label) otherCorrect++;
          addItem(
            {
              id: `${s.id}-${model}-${layer}`,
              file,
              category,
              source_id: s.id,
              condition: { model, layer, layer_index: layerIdx + 1 },
              role: 'main',
            },
            predictions,
            {
              model_prediction: m.categories[check.prediction]!,
              match_distance: round(check.matchDistance),
              null_threshold: round(nul.threshold),
              synthesis_start_loss: round(result.startLoss),
              synthesis_final_loss: round(result.finalLoss),
            },
          );
        }
        layerReports.push({
          model,
          layer,
          layer_index: layerIdx + 1,
          attempted: main.length,
          passed,
          passRate: passed / main.length,
          failures,
          null: { threshold: round(nul.threshold), median: round(nul.median), pairs: nul.pairs },
          medianLossReduction: round(median(reductions), 4),
          medianMatchDistance: round(median(distances), 4),
          ownAccuracy: passed ? round(own / passed, 4) : null,
          otherModel: other,
          otherAccuracy: passed ? round(otherCorrect / passed, 4) : null,
        });
        log(
          `${m.name}: ${model} ${layer}: ${passed}/${main.length} pass; other-model accuracy ${passed ? ((otherCorrect / passed) * 100).toFixed(0) : '–'}%`,
        );
        void otherNet;
      });
      sheetRows.push({ natural: sheetSource.decoded, cells: sheetCells });
      synthesisSeconds[model] = (performance.now() - t) / 1000;
    });

    // Masks (images) and the contact sheet (sounds drawn as spectrograms).
    const masks: Array<{ file: string }> = [];
    if (m.name === 'image') {
      const ic = config.image;
      const maskRng = root.fork('masks');
      for (let i = 1; i <= ic.masks; i++) {
        const file = `masks/mask-${i}.png`;
        write(file, encodeGreyPng(pinkNoiseMask(ic.size, maskRng), ic.size, ic.size).bytes);
        masks.push({ file });
      }
      write(CONTACT_SHEET, contactSheet(sheetRows, ic.size));
    } else {
      const asSpectrogram = (x: Float32Array): Float32Array => spectrogram(x).pixels;
      const { width, height } = spectrogram(sheetSource.decoded);
      const rows = sheetRows.map((r) => ({
        natural: asSpectrogram(r.natural),
        cells: r.cells.map((c) => ({ pixels: asSpectrogram(c.pixels), passed: c.passed })),
      }));
      write(CONTACT_SHEET, contactSheet(rows, width, height, 1));
    }

    const manifest: ManifestInput = {
      name: `demo-${m.name}`,
      modality: m.name,
      description:
        `Demo ${m.name} set: procedural ${m.name === 'image' ? 'shapes' : 'sounds'} (${m.describe}), metamers of a standard and an ` +
        `adversarially trained small CNN at every layer, made by this project's generator (stimuli/demo/README.md).`,
      categories: [...m.categories],
      models: cfg.models.map((model, k) => ({ model, layers: [...nets[k]!.layerNames] })),
      masks,
      items,
    };
    write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    write('predictions.csv', stringify(predictionRows, { header: true, columns: ['stimulus_id', 'observer_model', 'predicted_category'] }));
    write('synthesis-report.csv', stringify(reportRows, { header: true, cast: { boolean: (b) => (b ? 'true' : 'false') } }));

    const report: SetReport = {
      modality: m.name,
      quick: config.quick,
      seed: config.seed,
      describe: m.describe,
      categories: m.categories,
      mainSources: main.length,
      practiceSources: sources.length - main.length,
      trainExamples: train.length,
      heldOutExamples: heldOut.length,
      config: cfg,
      models: modelReports,
      layers: layerReports,
      metamersAttempted: reportRows.length,
      metamersPassed: reportRows.filter((r) => r.passed).length,
      items: items.length,
      masks: masks.length,
    };
    write('generation-report.json', `${JSON.stringify(report, null, 2)}\n`);
    const timings: SetTimings = {
      modality: m.name,
      dataSeconds: round(dataSeconds, 3),
      trainSeconds: Object.fromEntries(Object.entries(trainSeconds).map(([k, v]) => [k, round(v, 3)])),
      synthesisSeconds: Object.fromEntries(Object.entries(synthesisSeconds).map(([k, v]) => [k, round(v, 3)])),
      totalSeconds: round((performance.now() - started) / 1000, 3),
      cpuSeconds: 0,
    };
    const cpu = process.cpuUsage(cpuStart);
    timings.cpuSeconds = round((cpu.user + cpu.system) / 1e6, 3);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(temp, outDir);
    return { report, timings };
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
}
