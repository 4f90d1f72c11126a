/** `--from web-layout`: the experiment<N>_images copy used for online experiments (docs/design.md §6). */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore, hashFile } from '../../stimuli/blob-store.ts';
import { detectLayout, importStimulusSet, validateStimulusSet } from '../../stimuli/import.ts';
import { NATURAL } from '../../stimuli/manifest.ts';
import { makeWebLayoutTree } from '../fixtures/metamer-code-trees.ts';
import { makeImageSet, patternPng } from '../fixtures/stimulus-sets.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();
const SOURCES = [
  { idx: 0, category: 'bird' },
  { idx: 1, category: 'clock' },
  { idx: 2, category: 'bird' },
  { idx: 10, category: 'oven' },
];
const MODELS = [
  { name: 'resnet50', layers: ['conv1_relu1_fake_relu', 'layer2_fake_relu', 'final'] },
  { name: 'alexnet', layers: ['relu0_fake_relu', 'final'] },
];

describe('--from web-layout', () => {
  it('imports naturals and metamers with model and layer order from the numbered folders', async () => {
    const root = await tmp();
    const tree = await makeWebLayoutTree(path.join(root, 'web'), {
      models: MODELS,
      sources: SOURCES,
      missing: [{ idx: 10, model: 'alexnet', layer: 'final' }],
    });
    expect(await detectLayout(tree.dir)).toBe('web-layout');
    expect(await detectLayout(tree.root)).toBe('web-layout');
    const { manifest, report } = await importStimulusSet(tree.dir, {
      from: 'web-layout',
      name: 'web',
      blobs: new BlobStore(path.join(root, 'b')),
    });
    expect(manifest.models).toEqual(MODELS.map((m) => ({ model: m.name, layers: m.layers })));
    expect(manifest.categories).toEqual(['bird', 'clock', 'oven']);
    for (const s of SOURCES) {
      const nat = manifest.items.find((i) => i.id === `natural__${s.idx}`)!;
      expect(nat).toMatchObject({
        condition: NATURAL,
        category: s.category,
        source_id: String(s.idx),
        file: `0_orig/0_orig/${s.idx}_orig_orig.png`,
      });
      for (const [mi, m] of MODELS.entries()) {
        for (const [li, layer] of m.layers.entries()) {
          const item = manifest.items.find((i) => i.id === `${m.name}__${layer}__${s.idx}`);
          if (s.idx === 10 && m.name === 'alexnet' && layer === 'final') {
            expect(item).toBeUndefined();
            continue;
          }
          const file = `${mi + 1}_${m.name}/${li + 1}_${layer}/${s.idx}_${m.name}_${layer}.png`;
          expect(item).toMatchObject({
            file,
            category: s.category,
            source_id: String(s.idx),
            condition: { model: m.name, layer, layer_index: li + 1 },
          });
          expect(item!.sha256).toBe((await hashFile(path.join(tree.root, file))).sha256);
        }
      }
    }
    expect(report.models[1]!.layers[1]).toEqual({ layer: 'final', layer_index: 2, metamers: 3, missing_sources: ['10'] });
  });

  it('refuses a file whose name disagrees with its folder, and a source missing from the map', async () => {
    const root = await tmp();
    const tree = await makeWebLayoutTree(path.join(root, 'web'), { models: MODELS, sources: SOURCES });
    const wrongFolder = path.join(tree.root, '2_alexnet', '1_relu0_fake_relu', '2_alexnet_final.png');
    await fs.rename(path.join(tree.root, '2_alexnet', '2_final', '2_alexnet_final.png'), wrongFolder);
    await fs.writeFile(path.join(tree.root, '0_orig', '0_orig', '99_orig_orig.png'), patternPng(64, 'x', 'y', 0, 1));
    const r = await validateStimulusSet(tree.root, { from: 'web-layout' });
    expect(r.problems).toEqual([
      {
        file: path.join(tree.root, '0_orig/0_orig/99_orig_orig.png'),
        field: 'category',
        message: `source 99 has no category in ${tree.mapFile}`,
      },
      {
        file: wrongFolder,
        field: 'layer',
        message:
          'the name should be <idx>_alexnet_relu0_fake_relu.<ext> in 2_alexnet/1_relu0_fake_relu/; a file named otherwise may be mislabelled',
      },
    ]);
  });

  it('reads a JSON source map given with --source-categories, and audio twins', async () => {
    const root = await tmp();
    const tree = await makeWebLayoutTree(path.join(root, 'web'), { models: MODELS.slice(1), sources: SOURCES, modality: 'audio' });
    await fs.rm(tree.mapFile);
    const map = path.join(root, 'words.json');
    await fs.writeFile(map, JSON.stringify(Object.fromEntries(SOURCES.map((s) => [String(s.idx), s.category.toUpperCase()]))));
    const missing = await validateStimulusSet(tree.dir, { from: 'web-layout' });
    expect(missing.problems.map((p) => p.field)).toEqual(['categories']);
    const r = await validateStimulusSet(tree.dir, { from: 'web-layout', sourceCategories: map });
    expect(r.problems).toEqual([]);
    expect(r.manifest!.modality).toBe('audio');
    expect(r.manifest!.categories).toEqual(['BIRD', 'CLOCK', 'OVEN']);
    expect(r.manifest!.items.find((i) => i.id === 'alexnet__final__1')!.file).toBe('1_alexnet/2_final/1_alexnet_final.wav');
  });

  it('adds practice stimuli from --practice', async () => {
    const root = await tmp();
    const tree = await makeWebLayoutTree(path.join(root, 'web'), { models: MODELS.slice(1), sources: SOURCES });
    const practice = await makeImageSet(path.join(root, 'p'), { categories: ['bird', 'clock', 'oven'], models: [], sourcesPerCategory: 0 });
    const r = await validateStimulusSet(tree.dir, { from: 'web-layout', practice: path.join(practice.dir, 'practice') });
    expect(r.problems).toEqual([]);
    const items = r.manifest!.items.filter((i) => i.role === 'practice');
    expect(items.map((i) => [i.id, i.category, i.file])).toEqual([
      ['practice__p01', 'bird', 'practice/bird/p01.png'],
      ['practice__p02', 'clock', 'practice/clock/p02.png'],
      ['practice__p03', 'oven', 'practice/oven/p03.png'],
    ]);
  });
});
