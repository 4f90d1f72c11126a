/**
 * The demo generator in quick mode: the same code as `npm run demo:generate`, at toy sizes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { importStimulusSet } from '../../stimuli/import.ts';
import { Manifest, isNatural } from '../../stimuli/manifest.ts';
import { Cnn } from '../../stimuli/demo/generator/cnn.ts';
import { demoConfig, type ModalityName } from '../../stimuli/demo/generator/config.ts';
import { drawImage, IMAGE_CATEGORIES, imageAugmentation, imageExamples } from '../../stimuli/demo/generator/image-dataset.ts';
import { synthesiseMetamer } from '../../stimuli/demo/generator/metamer-synthesis.ts';
import { checkMetamer, nullDistances, summariseNull } from '../../stimuli/demo/generator/model-checks.ts';
import { SeededRandom } from '../../stimuli/demo/generator/seeded-random.ts';
import { writeDemoCard } from '../../stimuli/demo/generator/demo-card.ts';
import { generateSet, type SetReport, type SetTimings } from '../../stimuli/demo/generator/set-generator.ts';
import { decodeGreyPng, decodeWav8, encodeGreyPng } from '../../stimuli/demo/generator/stimulus-files.ts';
import { trainClassifier } from '../../stimuli/demo/generator/training.ts';

const root = mkdtempSync(join(tmpdir(), 'demo-gen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** sha256 of every file under dir (relative path → hash), except the run's timings. */
function hashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== 'generation-timings.json') out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

const quick = demoConfig(true, 7);
const sets: Record<ModalityName, string> = { image: join(root, 'a', 'image'), audio: join(root, 'a', 'audio') };

const runs: Array<{ report: SetReport; timings: SetTimings }> = [];
// Quick mode takes ~10 s per set on an idle core; the shared 2-core machine can make it 5× slower.
const SLOW = 300_000;

beforeAll(() => {
  runs.push(generateSet('image', quick, sets.image));
  runs.push(generateSet('audio', quick, sets.audio));
}, SLOW);

describe('the card', () => {
  it("is written from the run's own figures", () => {
    writeDemoCard(
      join(root, 'a'),
      runs.map((r) => r.report),
      runs.map((r) => r.timings),
      { kernels: [], wallSeconds: 12.5, parallel: false },
    );
    const card = readFileSync(join(root, 'a', 'README.md'), 'utf8');
    for (const { report } of runs) {
      for (const m of report.models) expect(card).toContain(`| ${m.model} | ${m.adversarial ? 'adversarial' : 'standard'}`);
      for (const m of report.models) expect(card).toContain(`${(m.heldOutAccuracy * 100).toFixed(1)}%`);
      for (const l of report.layers) expect(card).toContain(`| ${l.model} | ${l.layer_index} | ${l.layer} | ${l.passed}/${l.attempted} `);
      expect(card).toContain(`${report.metamersPassed} of ${report.metamersAttempted} metamers passed`);
      expect(card).toContain(`![${report.modality} contact sheet](${report.modality}/contact-sheet.png)`);
    }
    expect(card).toContain('Wall-clock time of `npm run demo:generate`: 13 s');
  });
});

describe.each(['image', 'audio'] as const)('quick %s set', (modality) => {
  it('writes a manifest the project schema accepts, with every referenced file present', () => {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(sets[modality], 'manifest.json'), 'utf8')));
    const cfg = quick[modality];
    expect(manifest.modality).toBe(modality);
    expect(manifest.models.map((m) => m.model)).toEqual(cfg.models);
    for (const m of manifest.models) expect(m.layers).toEqual(['input', 'conv1_relu', 'conv2_relu', 'conv3_relu', 'conv4_relu', 'final']);
    for (const item of manifest.items) {
      expect(statSync(join(sets[modality], item.file)).size).toBeGreaterThan(44);
      for (const model of cfg.models) expect(manifest.categories).toContain(item.attributes[`prediction_${model}`]);
      if (!isNatural(item.condition)) {
        const layers = manifest.models.find((m) => m.model === (item.condition as { model: string }).model)!.layers;
        expect(layers[item.condition.layer_index - 1]).toBe(item.condition.layer);
        expect(item.attributes.model_prediction).toBe(item.attributes[`prediction_${item.condition.model}`]);
        expect(item.attributes.match_distance as number).toBeLessThan(item.attributes.null_threshold as number);
      }
    }
    const practice = manifest.items.filter((i) => i.role === 'practice');
    expect(practice.length).toBe(cfg.practicePerCategory * manifest.categories.length);
    expect(practice.every((i) => isNatural(i.condition))).toBe(true);
    if (modality === 'image') expect(manifest.masks.length).toBe(demoConfig(true).image.masks);
  });

  it('records every attempted metamer in the synthesis report and every item in predictions.csv', () => {
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(sets[modality], 'manifest.json'), 'utf8')));
    const report = parse(readFileSync(join(sets[modality], 'synthesis-report.csv')), { columns: true }) as Array<Record<string, string>>;
    const cfg = quick[modality];
    const mainSources = cfg.sourcesPerCategory * manifest.categories.length;
    expect(report.length).toBe(mainSources * 2 * 6);
    const passed = report.filter((r) => r.passed === 'true');
    const metamers = manifest.items.filter((i) => !isNatural(i.condition));
    expect(metamers.map((i) => i.id).sort()).toEqual(passed.map((r) => `${r.source_id}-${r.model}-${r.layer}`).sort());
    for (const r of report.filter((x) => x.passed === 'false')) expect(r.reasons!.length).toBeGreaterThan(10);
    const predictions = parse(readFileSync(join(sets[modality], 'predictions.csv')), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(predictions[0]!)).toEqual(['stimulus_id', 'observer_model', 'predicted_category']);
    expect(predictions.length).toBe(manifest.items.length * 2);
  });

  it('is accepted by the project importer', async () => {
    const { manifest, report } = await importStimulusSet(sets[modality], { blobs: new BlobStore(join(root, `blobs-${modality}`)) });
    const own = Manifest.parse(JSON.parse(readFileSync(join(sets[modality], 'manifest.json'), 'utf8')));
    expect(manifest.items.length).toBe(own.items.length);
    expect(report.metamers).toBe(own.items.filter((i) => !isNatural(i.condition)).length);
    for (const item of manifest.items) expect(item.media?.kind).toBe(modality);
  });
});

describe('determinism', () => {
  it(
    'the same seed gives the same file hashes; another seed does not',
    () => {
      const again = join(root, 'b');
      generateSet('image', quick, join(again, 'image'));
      generateSet('audio', quick, join(again, 'audio'));
      for (const m of ['image', 'audio'] as const) {
        const first = hashes(sets[m]);
        expect(first.size).toBeGreaterThan(20);
        expect(hashes(join(again, m))).toEqual(first);
      }
      const other = join(root, 'c', 'audio');
      generateSet('audio', demoConfig(true, 8), other);
      const a = hashes(sets.audio);
      const c = hashes(other);
      const same = [...c].filter(([k, v]) => a.get(k) === v).length;
      expect(same).toBeLessThan(c.size / 10);
    },
    SLOW,
  );
});

describe('synthesis and model checks', () => {
  // A model trained briefly on quick-size data, shared by the tests below.
  const size = 32;
  const rng = new SeededRandom('synthesis-test');
  const net = new Cnn(quick.image.spec, rng.fork('init'));
  trainClassifier(
    net,
    imageExamples(8, size, rng.fork('train')),
    { epochs: 2, batchSize: 8, learningRate: 3e-3 },
    rng.fork('order'),
    null,
    imageAugmentation(size),
  );
  const sources = [0, 5, 9].map((label) => drawImage(label, size, rng.fork(`source:${label}`)));

  it.each([0, 1, 2, 3, 4, 5])('lowers the activation loss at layer %i at least 100-fold from its noise start', (layer) => {
    const settings = quick.image.synthesis;
    const ratios = sources.map((s, k) => {
      const noiseRng = rng.fork(`noise:${layer}:${k}`);
      const noise = Float32Array.from({ length: net.inputSize }, () => Math.min(1, Math.max(0, 0.5 + 0.15 * noiseRng.gaussian())));
      const r = synthesiseMetamer(net, layer, net.activations(s, layer), noise, settings);
      return r.startLoss / r.finalLoss;
    });
    for (const ratio of ratios) expect(ratio).toBeGreaterThanOrEqual(100);
  });

  it('accepts a good metamer and rejects a bad one, saying why', () => {
    const pool = imageExamples(4, size, rng.fork('pool')).map((e) => e.input);
    const layer = 3;
    const threshold = summariseNull(nullDistances(net, layer, pool, 200, rng.fork('null'))).threshold;
    const source = encodeGreyPng(sources[0]!, size, size).decoded;
    const start = rng.fork('good');
    const noise = Float32Array.from({ length: size * size }, () => Math.min(1, Math.max(0, 0.5 + 0.15 * start.gaussian())));
    const good = synthesiseMetamer(net, layer, net.activations(source, layer), noise, quick.image.synthesis);
    const goodCheck = checkMetamer(net, layer, source, encodeGreyPng(good.stimulus, size, size).decoded, threshold, IMAGE_CATEGORIES);
    expect(goodCheck.passed).toBe(true);
    expect(goodCheck.matchDistance).toBeLessThan(threshold);

    // Deliberately bad: noise that never saw the optimiser.
    const noiseRng = rng.fork('bad');
    const bad = Float32Array.from({ length: size * size }, () => noiseRng.next());
    const badCheck = checkMetamer(net, layer, source, bad, threshold, IMAGE_CATEGORIES);
    expect(badCheck.passed).toBe(false);
    expect(badCheck.failures).toContain('match_not_better_than_null');
    expect(badCheck.reasons.join(' ')).toMatch(/not below the null minimum/);

    // A metamer of another source: a real match, but for the wrong stimulus.
    const other = encodeGreyPng(sources[1]!, size, size).decoded;
    const wrong = checkMetamer(net, layer, other, encodeGreyPng(good.stimulus, size, size).decoded, threshold, IMAGE_CATEGORIES);
    expect(wrong.passed).toBe(false);
  });
});

describe('stimulus files', () => {
  it('PNG and WAV writers decode to the values the checks were run on', () => {
    const rng = new SeededRandom(1);
    const pixels = Float32Array.from({ length: 12 * 7 }, () => rng.next());
    const png = encodeGreyPng(pixels, 12, 7);
    const back = decodeGreyPng(png.bytes);
    expect([back.width, back.height]).toEqual([12, 7]);
    expect(Array.from(back.pixels)).toEqual(Array.from(png.decoded));
    const wav = readFileSync(join(sets.audio, 'natural', 's000.wav'));
    const decoded = decodeWav8(wav);
    expect(decoded.sampleRate).toBe(quick.audio.sampleRate);
    expect(decoded.samples.length).toBe(quick.audio.length);
    let energy = 0;
    for (const v of decoded.samples) energy += v * v;
    // RMS-normalised natural clip (8-bit rounding moves it by well under 5%).
    expect(Math.sqrt(energy / decoded.samples.length)).toBeCloseTo(0.07, 2);
  });
});
