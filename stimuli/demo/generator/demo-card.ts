/**
 * Writes the card, stimuli/demo/README.md, from what the run measured (each set's
 * generation-report.json and generation-timings.json): nothing in it is typed by hand.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INPUT_LAYER } from './cnn.ts';
import type { KernelFigure } from './kernel-benchmark.ts';
import type { LayerReport, SetReport, SetTimings } from './set-generator.ts';

export interface RunFacts {
  kernels: KernelFigure[];
  wallSeconds: number;
  parallel: boolean;
}

function folderBytes(dir: string): { bytes: number; files: number; largest: number } {
  let bytes = 0;
  let files = 0;
  let largest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = folderBytes(path);
      bytes += sub.bytes;
      files += sub.files;
      largest = Math.max(largest, sub.largest);
    } else {
      const size = statSync(path).size;
      bytes += size;
      files++;
      largest = Math.max(largest, size);
    }
  }
  return { bytes, files, largest };
}

const pct = (v: number | null): string => (v === null ? '–' : `${Math.round(v * 100)}%`);
const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;

function layerTable(layers: LayerReport[]): string {
  const rows = layers.map(
    (l) =>
      `| ${l.model} | ${l.layer_index} | ${l.layer} | ${l.passed}/${l.attempted} (${pct(l.passRate)}) | ${l.failures.prediction_mismatch} | ` +
      `${l.failures.match_not_better_than_null} | ${l.medianLossReduction >= 1e6 ? 'exact' : `${l.medianLossReduction.toPrecision(3)}×`} | ${l.medianMatchDistance.toPrecision(3)} | ` +
      `${l.null.threshold.toPrecision(3)} | ${pct(l.ownAccuracy)} | ${pct(l.otherAccuracy)} |`,
  );
  return [
    '| model | # | layer | passed | failed (a) prediction | failed (b) null | median loss reduction | median match distance | null minimum | own-model accuracy | other-model accuracy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function architecture(r: SetReport): string {
  const s = r.config.spec;
  const stages = s.stages
    .map((st) => `\`${st.name}\`: ${st.outC} × ${st.kH === 1 ? st.kW : `${st.kH}×${st.kW}`} conv, stride ${st.strideW}, ReLU`)
    .join('; ');
  const model = r.models[0]!;
  return (
    `input ${s.input.join('×')} (\`${INPUT_LAYER}\`) → ${stages} → global average pool → linear ${s.classes} (\`final\`). ` +
    `${model.parameters.toLocaleString('en')} parameters, ${(model.macsPerForward / 1e6).toFixed(2)} M multiply–accumulates per forward pass.`
  );
}

function crossModelSummary(r: SetReport): string {
  const lines: string[] = [];
  for (const model of r.config.models) {
    const ls = r.layers.filter((l) => l.model === model);
    const first = ls.find((l) => l.layer !== INPUT_LAYER);
    const last = ls[ls.length - 1]!;
    lines.push(
      `- \`${model}\`'s metamers, judged by \`${last.otherModel}\`: ${ls.map((l) => `${l.layer} ${pct(l.otherAccuracy)}`).join(', ')}` +
        ` (first stage ${pct(first?.otherAccuracy ?? null)} → final ${pct(last.otherAccuracy)}).`,
    );
  }
  return lines.join('\n');
}

function modalitySection(r: SetReport, t: SetTimings, size: { bytes: number; files: number; largest: number }): string {
  const c = r.config;
  const kind = r.modality === 'image' ? 'Image' : 'Audio';
  const models = r.models
    .map(
      (m) =>
        `| ${m.model} | ${m.adversarial ? `adversarial (PGD L2, ε = ${c.pgd.epsilon})` : 'standard'} | ` +
        `${(m.heldOutAccuracy * 100).toFixed(1)}% | ${(m.attackedAccuracy * 100).toFixed(1)}% | ${(t.trainSeconds[m.model] ?? 0).toFixed(0)} s |`,
    )
    .join('\n');
  return `## ${kind} set: \`stimuli/demo/${r.modality}/\`

- ${r.categories.length} categories: ${r.categories.map((x) => `\`${x}\``).join(', ')}.
- Stimuli: ${r.describe}. ${r.mainSources} main sources (${r.mainSources / r.categories.length} per category) and ${r.practiceSources} practice-only natural sources (${r.practiceSources / r.categories.length} per category, \`role: "practice"\`).
- ${r.metamersPassed} of ${r.metamersAttempted} metamers passed the checks and are in the manifest (${r.items} items in all${r.masks ? `, plus ${r.masks} noise masks` : ''}); ${r.metamersAttempted - r.metamersPassed} failed (${r.metamersAttempted - r.metamersPassed === 1 ? 'it is' : 'all are'} in \`synthesis-report.csv\` with the reason).
- Training data: ${r.trainExamples} examples, held-out test: ${r.heldOutExamples} (fresh draws from the same generator, never trained on).
- Architecture (both models): ${architecture(r)}
- Training: \`${c.models[0]}\`: ${r.models[0]!.epochs.length} epoch(s) from random weights (data-dependent initialisation, Mishkin & Matas 2016; at most ${c.training.epochs}, stopping early once a separate validation split of ${c.validationPerCategory * r.categories.length} examples reaches ${Math.round((c.training.stopAtValidationAccuracy ?? 1) * 100)}%; the cosine schedule spans the maximum), batch ${c.training.batchSize}, Adam, learning rate ${c.training.learningRate} with 5% warm-up and cosine decay, random ${r.modality === 'image' ? 'rotations by 90° and reflections' : 'circular shifts of up to ±10%'}. \`${c.models[1]}\`: ${c.robustFrom === 'standard' ? `starts from those weights and is trained ${r.models[1]!.epochs.length} more epoch(s) (adversarial fine-tuning: training from scratch costs ~3× a standard run, which the time budget cannot hold for this modality; the price is features shared with the standard model)` : `trained from its own random weights for ${r.models[1]!.epochs.length} epoch(s) (at most ${c.robustTraining.epochs}, early stopping as above at ${Math.round((c.robustTraining.stopAtValidationAccuracy ?? 1) * 100)}% clean validation accuracy)`}, learning rate ${c.robustTraining.learningRate}, on PGD adversarial examples only: L2 ball of radius ε = ${c.pgd.epsilon}, random start, ${c.pgd.steps} steps of ${c.pgd.stepScale}·ε/${c.pgd.steps} (Madry et al. 2018).
- Synthesis: ${c.synthesis.iterations} Adam steps on the ${r.modality === 'image' ? 'pixels' : 'waveform'} from Gaussian noise (mean ${c.noiseMean}, SD ${c.noiseStd}), step size ${c.synthesis.learningRate} halved ${c.synthesis.halvings} times at equal intervals, values clamped to [${c.synthesis.min}, ${c.synthesis.max}]${r.modality === 'audio' ? " and held at the natural clips' RMS level" : ''}; from ${Math.round(c.synthesis.quantisedFrom * 100)}% of the steps on, the loss is taken at the 8-bit-rounded stimulus (straight-through), so the match survives being written; backward pass with the paper's "fake ReLU" at the matched layer and leaky ReLU derivatives (×${c.synthesis.surrogate.below}) below it (losses and checks always use the true network). Null distribution: ${c.nullPairs} random pairs of held-out natural stimuli per layer.
- Output size: ${mb(size.bytes)} in ${size.files} files (largest file ${(size.largest / 1e3).toFixed(1)} kB). Generation time: ${t.totalSeconds.toFixed(0)} s wall clock, ${t.cpuSeconds.toFixed(0)} s CPU (data ${t.dataSeconds.toFixed(0)} s, training ${Object.values(
    t.trainSeconds,
  )
    .map((v) => v.toFixed(0))
    .join(' + ')} s, synthesis ${Object.values(t.synthesisSeconds)
    .map((v) => v.toFixed(0))
    .join(' + ')} s).

| model | training | held-out accuracy | accuracy under the PGD attack (${Math.min(r.heldOutExamples, 4 * r.categories.length)} held-out examples) | training time |
| --- | --- | --- | --- | --- |
${models}

${
  r.modality === 'audio'
    ? `The loss reductions and match distances are those of the written 8-bit files: 8-bit rounding
adds noise about 30 dB under the clips' level, which bounds the match at hidden layers near a
distance of 0.02 (≈ 50–80-fold reduction; the float optimum is lower, see the quick-mode tests),
still far below every null pair.

`
    : ''
}Per layer (own/other-model accuracy: the proportion of the passing metamers that the generating
model, and the other model, classify as the source's true category; the generating model's
prediction on every passing metamer equals its prediction on the source, by check (a), so its
own accuracy is its accuracy on the natural sources):

${layerTable(r.layers)}

Other-model recognizability (the paper's "idiosyncratic invariances" at toy scale):

${crossModelSummary(r)}
`;
}

export function writeDemoCard(out: string, reports: SetReport[], timings: SetTimings[], run: RunFacts): void {
  const sizes = reports.map((r) => folderBytes(join(out, r.modality)));
  const total = sizes.reduce((a, s) => a + s.bytes, 0);
  const kernelRows = run.kernels
    .map((k) => `| ${k.shape} | ${k.blockedGmacs.toFixed(2)} | ${k.referenceGmacs.toFixed(2)} | ${k.ratio.toFixed(2)}× |`)
    .join('\n');
  const text = `# Demo stimulus sets

Two stimulus sets whose metamers were synthesised here, by small networks trained here on
procedural data: \`stimuli/demo/image/\` and \`stimuli/demo/audio/\`. Each folder holds a
\`manifest.json\` in the project's format (\`stimuli/manifest.ts\`), the stimuli, \`predictions.csv\`
(\`stimulus_id,observer_model,predicted_category\` for both models on every item),
\`synthesis-report.csv\` (every attempted metamer: passed or the failed check and why),
\`generation-report.json\` (every figure below) and \`generation-timings.json\`; the run's
kernel throughput and wall time are in \`generation-run.json\`.

This file is written by the generator from the run's own measurements. Regenerate everything with
\`npm run demo:generate\` (seed ${reports[0]?.seed}; the same seed gives byte-identical stimuli and
manifests; add \`-- --quick\` for a toy run in seconds, written to \`test-output/demo-quick/\`, and
\`-- --sequential\` for one core).

Manifest conventions: item ids \`<source>-natural\` and \`<source>-<model>-<layer>\`; files
\`natural/<source>\`, \`practice/<source>\`, \`<model>/<layer>/<source>\`; every item has
\`prediction_<model>\` for both models; metamers also \`model_prediction\` (the generating model's
label), \`match_distance\` (normalised L2 distance of the activations to the source's at the
generation layer), \`null_threshold\` (the null minimum it had to beat) and the synthesis loss at
the start and end. Layer indices are 1-based in network order, \`input\` first, \`final\` (logits) last.

## How the metamers were made (as in Feather et al. 2023, at toy scale)

1. A standard and an adversarially trained CNN (PGD in an L2 ball, Madry et al. 2018) of the same
   architecture are trained per modality; each must reach ≥ 90% held-out accuracy.
2. For each main source and each layer of each model (the input included), gradient descent on
   the stimulus from noise minimises the normalised distance ‖a(x) − a(s)‖ / ‖a(s)‖ between that
   layer's activations for the candidate x and for the source s.
3. The result is quantised exactly as written (8-bit PNG / 8-bit WAV) and checked on those bytes:
   kept only if (a) the model's predicted category on it equals its prediction on the source and
   (b) its match distance is below the smallest distance among random pairs of natural stimuli
   (the null distribution). Failures are not in the manifest (a study shows the natural stimulus
   for that source and condition, as in the paper) but are all in \`synthesis-report.csv\`.

${reports.map((r, i) => modalitySection(r, timings[i]!, sizes[i]!)).join('\n')}
## Contact sheets

${reports
  .map((r) => {
    const rowModels = r.config.models;
    const layers = r.layers
      .filter((l) => l.model === rowModels[0])
      .map((l) => `\`${l.layer}\``)
      .join(', ');
    const what =
      r.modality === 'image' ? 'images (2× magnified)' : 'log-magnitude spectrograms (time → right, frequency ↑, 0–8 kHz, 60 dB range)';
    return `![${r.modality} contact sheet](${r.modality}/contact-sheet.png)

\`${r.modality}/contact-sheet.png\`: source \`s000\` (category \`${r.categories[0]}\`) as ${what}; top row
\`${rowModels[0]}\`, bottom row \`${rowModels[1]}\`; first column the natural stimulus, then ${layers}.
A white frame marks a metamer that passed the checks, a black frame one that failed (drawn
anyway, not in the manifest).
`;
  })
  .join('\n')}
## Numeric engine, timings and budget

Hand-written kernels over \`Float32Array\` (\`generator/tensor-kernels.ts\`): convolution as
im2col + matrix product, backward passes by the adjoint (col2im) and transposed products, ReLU,
global average pooling, linear read-out, softmax cross-entropy; gradients are checked against
finite differences in \`test/unit/demo-kernels.test.ts\`. Chosen because tfjs's pure-JS backend
was measured here at about ten minutes per epoch of 512 48×48 images, and these small fixed
architectures need only a few kernels; the matrix product keeps a 4×8 output block in locals,
which V8 runs several times faster than the textbook loop. Throughput on this machine during the
run (GMAC/s, multiply–accumulates per second):

| product (layer shape) | blocked kernel | textbook loop | ratio |
| --- | --- | --- | --- |
${kernelRows}

Wall-clock time of \`npm run demo:generate\`: ${run.wallSeconds.toFixed(0)} s (${(run.wallSeconds / 60).toFixed(1)} min) on
this 2-core machine, ${run.parallel ? 'the two sets generated in parallel, one process per core' : 'the two sets one after the other'},
while other engineers' jobs (test suites, benchmarks, browsers) shared the same two cores. The
CPU time the generator itself used was ${timings.map((t) => `${t.cpuSeconds.toFixed(0)} s (${t.modality})`).join(' and ')}:
on an otherwise idle machine the parallel run takes about the larger of the two
(${(Math.max(...timings.map((t) => t.cpuSeconds)) / 60).toFixed(1)} min), sequentially about their sum
(${(timings.reduce((a, t) => a + t.cpuSeconds, 0) / 60).toFixed(1)} min). Committed output (the two set folders): ${mb(total)} in ${sizes.reduce((a, s) => a + s.files, 0)} files
(budget 15 MB, no file over 4 MB; largest ${(Math.max(...sizes.map((s) => s.largest)) / 1e3).toFixed(1)} kB).
Grey-scale images and 8-bit audio are what make ~800 incompressible metamers fit that budget.
`;
  writeFileSync(join(out, 'README.md'), text);
}
