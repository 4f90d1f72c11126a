/**
 * `--from model-metamers`: realistic per-model trees (names exactly as docs/design.md §6), with failed
 * metamers (absent, or in null_overlap_images/) and diagnostic figures mixed in.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore, hashFile } from '../../stimuli/blob-store.ts';
import { StimulusSetError, detectLayout, importStimulusSet, validateStimulusSet } from '../../stimuli/import.ts';
import { NATURAL } from '../../stimuli/manifest.ts';
import { DEFAULT_RUN, makeModelMetamersTree, type TreeSource } from '../fixtures/metamer-code-trees.ts';
import { PAPER_IMAGE_CATEGORIES, patternPng } from '../fixtures/stimulus-sets.ts';
import { filesUnder, useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();

const SIXTEEN = PAPER_IMAGE_CATEGORIES;
const SOURCES: TreeSource[] = [
  { idx: 3, category: 'airplane' },
  { idx: 17, category: 'bear' },
  { idx: 120, category: 'bear' },
  { idx: 205, category: 'knife' },
  { idx: 311, category: 'truck' },
  { idx: 399, category: 'airplane' },
];
const RESNET = ['input_after_preproc', 'conv1_relu1_fake_relu', 'layer4_fake_relu', 'avgpool', 'final'];
const ALEXNET = ['relu0_fake_relu', 'relu4_fake_relu', 'fc1_relu_fake_relu', 'final'];

async function categoriesFile(dir: string): Promise<string> {
  const f = path.join(dir, 'categories16.txt');
  await fs.writeFile(f, SIXTEEN.join('\n') + '\n');
  return f;
}

describe('--from model-metamers', () => {
  it('imports two model folders item by item: model, layer, layer order, source, category, fallback report', async () => {
    const root = await tmp();
    const resnet = await makeModelMetamersTree(root, {
      model: 'resnet50',
      layers: RESNET,
      sources: SOURCES,
      failures: [
        { idx: 17, layer: 'layer4_fake_relu', how: 'null-overlap' },
        { idx: 311, layer: 'final', how: 'absent' },
      ],
    });
    const alexnet = await makeModelMetamersTree(root, {
      model: 'alexnet',
      layers: ALEXNET,
      sources: SOURCES,
      failures: [{ idx: 205, layer: 'relu0_fake_relu', how: 'null-overlap' }],
    });
    const blobs = new BlobStore(path.join(root, 'blobs'));
    const { manifest, report } = await importStimulusSet([resnet.dir, alexnet.dir], {
      from: 'model-metamers',
      name: 'exp1',
      categoriesFile: await categoriesFile(root),
      blobs,
    });

    expect(manifest.categories).toEqual(SIXTEEN);
    expect(await detectLayout(resnet.dir)).toBe('model-metamers');
    // Without --name, several model folders are named after the folder holding them.
    expect((await validateStimulusSet([resnet.dir, alexnet.dir], { from: 'model-metamers' })).manifest!.name).toBe(path.basename(root));
    expect(manifest.models).toEqual([
      { model: 'alexnet', layers: ALEXNET },
      { model: 'resnet50', layers: RESNET },
    ]);
    const naturals = manifest.items.filter((i) => i.condition === NATURAL);
    expect(naturals.map((i) => [i.id, i.source_id, i.category])).toEqual(
      SOURCES.map((s) => [`natural__${s.idx}`, String(s.idx), s.category]),
    );
    // The natural is stored once, from the first folder given.
    expect(naturals[0]!.file).toBe(`resnet50/metamers/${DEFAULT_RUN}/3_SOUND_airplane/orig.png`);

    const written = [
      ...resnet.written.map((w) => ({ ...w, model: 'resnet50', order: RESNET })),
      ...alexnet.written.map((w) => ({ ...w, model: 'alexnet', order: ALEXNET })),
    ];
    const metamers = manifest.items.filter((i) => i.condition !== NATURAL);
    expect(metamers).toHaveLength(written.length);
    expect(written).toHaveLength(6 * 5 - 2 + 6 * 4 - 1);
    for (const w of written) {
      const item = metamers.find((i) => i.id === `${w.model}__${w.layer}__${w.idx}`);
      expect(item, `${w.model} ${w.layer} ${w.idx}`).toBeDefined();
      expect(item!.condition).toEqual({ model: w.model, layer: w.layer, layer_index: w.order.indexOf(w.layer) + 1 });
      expect(item!.source_id).toBe(String(w.idx));
      expect(item!.category).toBe(SOURCES.find((s) => s.idx === w.idx)!.category);
      expect(item!.sha256).toBe((await hashFile(w.file)).sha256);
    }
    // Failed metamers are not imported; the report names the sources that fall back to natural.
    expect(metamers.find((i) => i.id === 'resnet50__layer4_fake_relu__17')).toBeUndefined();
    const layer = (m: string, l: string) => report.models.find((x) => x.model === m)!.layers.find((x) => x.layer === l)!;
    expect(layer('resnet50', 'layer4_fake_relu')).toEqual({
      layer: 'layer4_fake_relu',
      layer_index: 3,
      metamers: 5,
      missing_sources: ['17'],
    });
    expect(layer('resnet50', 'final')).toMatchObject({ metamers: 5, missing_sources: ['311'] });
    expect(layer('alexnet', 'relu0_fake_relu')).toMatchObject({ layer_index: 1, metamers: 5, missing_sources: ['205'] });
    expect(layer('alexnet', 'final')).toMatchObject({ layer_index: 4, metamers: 6, missing_sources: [] });
    expect(report.ignored).toEqual({
      'diagnostic figures (*_optimization.png)': written.length,
      'failed metamers (null_overlap_images/)': 2,
      'files outside metamers/': 2,
    });
    expect(report.masks.generated).toBe(true);
    // Twins are read (checked) but stored once: naturals + metamers + 8 masks.
    expect((await filesUnder(blobs.root)).length).toBe(6 + written.length + 8);
  });

  it('takes the layer order from the <k> prefixes even with gaps, and model names from --model-names', async () => {
    const root = await tmp();
    const tree = await makeModelMetamersTree(root, {
      model: 'run_2023_07',
      layers: ['a', 'b', 'c', 'd'],
      sources: SOURCES.slice(0, 3),
      figures: false,
    });
    // Drop layer "b" entirely: k = 0, 2, 3 remain and must become layer_index 1, 2, 3.
    for (const s of SOURCES.slice(0, 3))
      await fs.rm(path.join(tree.dir, 'metamers', DEFAULT_RUN, `${s.idx}_SOUND_${s.category}`, '1_layer_b_synth.png'));
    const { manifest } = (await validateStimulusSet([tree.dir], { from: 'model-metamers', modelNames: ['cornet_s'] })) as {
      manifest: NonNullable<Awaited<ReturnType<typeof validateStimulusSet>>['manifest']>;
    };
    expect(manifest.name).toBe('run_2023_07');
    expect(manifest.models).toEqual([{ model: 'cornet_s', layers: ['a', 'c', 'd'] }]);
    expect(manifest.items.find((i) => i.id === 'cornet_s__d__17')!.condition).toEqual({ model: 'cornet_s', layer: 'd', layer_index: 3 });
    // Categories sorted when no file fixes them.
    expect(manifest.categories).toEqual(['airplane', 'bear']);
  });

  it('a broken tree: unknown category, wrong size, two files for one (source, model, layer); nothing imported', async () => {
    const root = await tmp();
    const tree = await makeModelMetamersTree(root, { model: 'alexnet', layers: ALEXNET, sources: SOURCES });
    const run = path.join(tree.dir, 'metamers', DEFAULT_RUN);
    await fs.mkdir(path.join(run, '7_SOUND_zebra'));
    await fs.writeFile(path.join(run, '7_SOUND_zebra', 'orig.png'), patternPng(64, 'zebra', 'z', 0, 1));
    await fs.writeFile(path.join(run, '17_SOUND_bear', '2_layer_fc1_relu_fake_relu_synth.png'), patternPng(128, 'bear', 'big', 3, 1));
    const rerun = path.join(tree.dir, 'metamers', 'rerun_seed1', '205_SOUND_knife');
    await fs.mkdir(rerun, { recursive: true });
    await fs.writeFile(path.join(rerun, '0_layer_relu0_fake_relu_synth.png'), patternPng(64, 'knife', 'again', 1, 1));
    const blobs = new BlobStore(path.join(root, 'blobs'));
    const opts = { from: 'model-metamers' as const, categoriesFile: await categoriesFile(root), blobs };
    const err = (await importStimulusSet([tree.dir], opts).then(
      () => null,
      (e: unknown) => e,
    )) as StimulusSetError;
    expect(err).toBeInstanceOf(StimulusSetError);
    const rel = err.problems.map((p) => ({ ...p, file: path.relative(tree.dir, p.file) }));
    expect(rel).toEqual([
      {
        file: `metamers/${DEFAULT_RUN}/17_SOUND_bear/2_layer_fc1_relu_fake_relu_synth.png`,
        field: 'width',
        message: "image is 128×128 px but the set's images are 64×64 px (the size of most files)",
      },
      {
        file: `metamers/${DEFAULT_RUN}/7_SOUND_zebra/orig.png`,
        field: 'category',
        message: `unknown category "zebra" (not in ${opts.categoriesFile})`,
      },
      {
        file: 'metamers/rerun_seed1/205_SOUND_knife/0_layer_relu0_fake_relu_synth.png',
        field: 'source',
        message: `two files claim the (source "205", model "alexnet", layer "relu0_fake_relu"): this one and ${path.join(run, '205_SOUND_knife', '0_layer_relu0_fake_relu_synth.png')}`,
      },
    ]);
    expect(await filesUnder(blobs.root)).toEqual([]);
  });

  it('a truncated WAV in an audio tree; figures of sounds are ignored, sidecar metadata kept', async () => {
    const root = await tmp();
    const words = [
      { idx: 1, category: 'house' },
      { idx: 2, category: 'money' },
      { idx: 3, category: 'house' },
    ];
    const tree = await makeModelMetamersTree(root, {
      model: 'cochcnn9',
      layers: ['relu0_fakerelu', 'relufc_fakerelu', 'final'],
      sources: words,
      modality: 'audio',
    });
    const dir = path.join(tree.dir, 'metamers', DEFAULT_RUN, '2_SOUND_money');
    await fs.writeFile(path.join(dir, 'orig.png'), patternPng(32, 'cochleagram', 'x', 0, 1));
    await fs.writeFile(
      path.join(dir, '1_layer_relufc_fakerelu_synth.json'),
      JSON.stringify({ model_prediction: 'money', spearman_r: 0.91 }),
    );
    const ok = await validateStimulusSet([tree.dir], { from: 'model-metamers' });
    expect(ok.problems).toEqual([]);
    expect(ok.manifest!.modality).toBe('audio');
    expect(ok.manifest!.items.find((i) => i.id === 'cochcnn9__relufc_fakerelu__2')!.attributes).toEqual({
      model_prediction: 'money',
      spearman_r: 0.91,
    });
    expect(ok.report!.ignored['figures of audio stimuli']).toBe(1);
    expect(ok.report!.ignored['diagnostic figures (*_optimization.png)']).toBe(9);

    const wav = path.join(dir, '0_layer_relu0_fakerelu_synth.wav');
    const bytes = await fs.readFile(wav);
    await fs.writeFile(wav, bytes.subarray(0, bytes.length - 501));
    const bad = await validateStimulusSet([tree.dir], { from: 'model-metamers' });
    expect(bad.problems).toEqual([
      { file: wav, field: 'data', message: 'truncated WAV: the data chunk declares 8000 bytes but the file holds 7499' },
    ]);
  });

  it('refuses natural copies that differ between model folders, and folders without metamers/', async () => {
    const root = await tmp();
    const a = await makeModelMetamersTree(root, { model: 'a', layers: ['l1'], sources: SOURCES.slice(0, 2), figures: false });
    const b = await makeModelMetamersTree(root, { model: 'b', layers: ['l1'], sources: SOURCES.slice(0, 2), figures: false, seed: 2 });
    const empty = path.join(root, 'not_a_model');
    await fs.mkdir(empty);
    const r = await validateStimulusSet([a.dir, b.dir, empty], { from: 'model-metamers' });
    const lines = r.problems.map((p) => [path.relative(root, p.file), p.field ?? '', p.message.slice(0, 40)]);
    expect(lines).toEqual([
      [`b/metamers/${DEFAULT_RUN}/17_SOUND_bear/orig.png`, 'source', 'differs from ' + path.join(a.dir, 'metamers').slice(0, 27)],
      [`b/metamers/${DEFAULT_RUN}/3_SOUND_airplane/orig.png`, 'source', 'differs from ' + path.join(a.dir, 'metamers').slice(0, 27)],
      ['not_a_model', '', "no metamers/ folder: give the model's fo"],
    ]);
    // Choosing one model's copies explicitly: the others are ignored, not compared.
    const chosen = await validateStimulusSet([a.dir, b.dir], { from: 'model-metamers', naturalFrom: 'b' });
    expect(chosen.problems).toEqual([]);
    expect(chosen.manifest!.items.filter((i) => i.condition === NATURAL).map((i) => i.file)).toEqual([
      `b/metamers/${DEFAULT_RUN}/3_SOUND_airplane/orig.png`,
      `b/metamers/${DEFAULT_RUN}/17_SOUND_bear/orig.png`,
    ]);
    expect(chosen.report!.ignored['natural copies in other model folders (--natural-from b)']).toBe(2);
    const unknown = await validateStimulusSet([a.dir, b.dir], { from: 'model-metamers', naturalFrom: 'c' });
    expect(unknown.problems).toEqual([{ file: '--natural-from', message: 'model "c" is not among the folders given (a, b)' }]);
  });
});
