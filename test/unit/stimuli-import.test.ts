import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { openDatabase } from '../../server/store/database.ts';
import { getStimulusSet, saveStimulusSet } from '../../server/store/stimulus-sets.ts';
import { BlobStore, hashFile } from '../../stimuli/blob-store.ts';
import { importStimulusSet, validateStimulusSet } from '../../stimuli/import.ts';
import { NATURAL } from '../../stimuli/manifest.ts';
import { makeAudioSet, makeImageSet } from '../fixtures/stimulus-sets.ts';
import { filesUnder, useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();

describe('importing a plain folder tree', () => {
  it('gives one item per file, with condition, role, category, sha256 and media from the file', async () => {
    const root = await tmp();
    const models = [
      { name: 'alexnet', layers: ['relu0', 'relu2', 'final'] },
      { name: 'resnet50', layers: ['conv1_relu1', 'layer4', 'final'] },
    ];
    const set = await makeImageSet(path.join(root, 'set'), {
      models,
      size: 48,
      missing: [{ source: 's03', model: 'resnet50', layer: 'layer4' }],
    });
    const blobs = new BlobStore(path.join(root, 'blobs'));
    const { manifest, report } = await importStimulusSet(set.dir, { blobs, name: 'fixture' });

    expect(manifest.name).toBe('fixture');
    expect(manifest.modality).toBe('image');
    expect(manifest.categories).toEqual(set.categories);
    expect(manifest.models).toEqual(models.map((m) => ({ model: m.name, layers: m.layers })));
    const written = [...set.naturals, ...set.practice, ...set.metamers];
    expect(manifest.items).toHaveLength(written.length);
    for (const f of written) {
      const item = manifest.items.find((i) => i.file === f.file);
      expect(item, f.file).toBeDefined();
      expect(item!.category).toBe(f.category);
      expect(item!.source_id).toBe(f.source);
      expect(item!.role).toBe(f.role);
      expect(item!.condition).toEqual(f.model ? { model: f.model, layer: f.layer, layer_index: f.layerIndex } : NATURAL);
      expect(item!.id).toBe(
        f.model ? `${f.model}__${f.layer}__${f.source}` : `${f.role === 'practice' ? 'practice' : 'natural'}__${f.source}`,
      );
      expect(item!.media).toEqual({ kind: 'image', format: 'png', width: 48, height: 48, channels: 3 });
      const { sha256 } = await hashFile(path.join(set.dir, f.file));
      expect(item!.sha256).toBe(sha256);
      expect(await blobs.has(sha256, 'png')).toBe(true);
    }
    // Stable order: main naturals, practice, then metamers by model, layer, source.
    const kinds = manifest.items.map((i) => (i.role === 'practice' ? 'p' : i.condition === NATURAL ? 'n' : 'm'));
    expect(kinds.join('')).toMatch(/^n+p+m+$/);
    const l4 = report.models.find((m) => m.model === 'resnet50')!.layers.find((l) => l.layer === 'layer4')!;
    expect(l4).toEqual({ layer: 'layer4', layer_index: 2, metamers: set.naturals.length - 1, missing_sources: ['s03'] });
    expect(report.sources).toBe(set.naturals.length);
    expect(report.practice).toBe(set.practice.length);
    expect(report.metamers).toBe(set.metamers.length);
  });

  it('generates 8 deterministic noise masks of the stimuli size when the set has none', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), { size: 40 });
    const blobs = new BlobStore(path.join(root, 'blobs'));
    const a = await importStimulusSet(set.dir, { blobs });
    expect(a.manifest.masks).toHaveLength(8);
    expect(a.report.masks).toEqual({ count: 8, generated: true });
    expect(new Set(a.manifest.masks.map((m) => m.sha256)).size).toBe(8);
    for (const m of a.manifest.masks) {
      const png = PNG.sync.read(await fs.readFile(blobs.pathOf(m.sha256!, 'png')));
      expect([png.width, png.height]).toEqual([40, 40]);
    }
    const b = await validateStimulusSet(set.dir);
    expect(b.manifest!.masks).toEqual(a.manifest.masks);
  });

  it('uses the masks a set brings', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), { masks: 3 });
    const { manifest, report } = await importStimulusSet(set.dir, { blobs: new BlobStore(path.join(root, 'blobs')) });
    expect(manifest.masks.map((m) => m.file)).toEqual(set.masks);
    for (const m of manifest.masks) expect(m.sha256).toBe((await hashFile(path.join(set.dir, m.file))).sha256);
    expect(report.masks).toEqual({ count: 3, generated: false });
  });

  it('is a no-op the second time, end to end (same manifest, store unchanged, database "unchanged")', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'));
    const blobs = new BlobStore(path.join(root, 'blobs'));
    const db = openDatabase(path.join(root, 'm.db'));
    try {
      const first = await importStimulusSet(set.dir, { blobs, name: 'again' });
      expect(saveStimulusSet(db, first.manifest)).toBe('created');
      const stored = await filesUnder(blobs.root);
      const second = await importStimulusSet(set.dir, { blobs, name: 'again' });
      expect(second.manifest).toEqual(first.manifest);
      expect(JSON.stringify(second.manifest)).toBe(JSON.stringify(first.manifest));
      expect(second.report.blobs_added).toBe(0);
      expect(first.report.blobs_added).toBe(stored.length);
      expect(await filesUnder(blobs.root)).toEqual(stored);
      expect(saveStimulusSet(db, second.manifest)).toBe('unchanged');
      expect(getStimulusSet(db, 'again')!.items).toHaveLength(first.manifest.items.length);
    } finally {
      db.close();
    }
  });

  it('imports an audio set with WAV media and no masks', async () => {
    const root = await tmp();
    const set = await makeAudioSet(path.join(root, 'words'), { categories: ['ball', 'dog', 'house'], duration: 0.5, sampleRate: 16000 });
    const { manifest } = await importStimulusSet(set.dir, { blobs: new BlobStore(path.join(root, 'blobs')) });
    expect(manifest.name).toBe('words');
    expect(manifest.modality).toBe('audio');
    expect(manifest.masks).toEqual([]);
    expect(manifest.items[0]!.media).toEqual({
      kind: 'audio',
      format: 'wav',
      sample_rate: 16000,
      channels: 1,
      bit_depth: 16,
      duration_s: 0.5,
    });
  });

  it('takes the layer order from --layers, and sorts categories when there is no categories.txt', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), {
      categories: ['truck', 'bear', 'oven'],
      layersFiles: false,
      categoriesFile: false,
      models: [{ name: 'alexnet', layers: ['relu0', 'final'] }],
    });
    const missingOrder = await validateStimulusSet(set.dir);
    expect(missingOrder.problems.map((p) => p.field)).toEqual(['layers']);
    const { manifest } = await importStimulusSet(set.dir, {
      blobs: new BlobStore(path.join(root, 'b')),
      layers: { alexnet: ['final', 'relu0'] },
    });
    expect(manifest.categories).toEqual(['bear', 'oven', 'truck']);
    expect(manifest.models).toEqual([{ model: 'alexnet', layers: ['final', 'relu0'] }]);
    expect(manifest.items.find((i) => i.id === 'alexnet__relu0__s01')!.condition).toEqual({
      model: 'alexnet',
      layer: 'relu0',
      layer_index: 2,
    });
  });

  it('carries sidecar JSON and metadata.csv into attributes', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'));
    await fs.writeFile(path.join(set.dir, 'alexnet/relu0/bear/s01.json'), JSON.stringify({ model_prediction: 'bear', loss: 0.25 }));
    await fs.writeFile(
      path.join(set.dir, 'alexnet/final/metadata.csv'),
      'file,model_prediction,match_r2\nbear/s02.png,dog,0.97\ncar/s03.png,,0.5\n',
    );
    const { manifest } = await importStimulusSet(set.dir, { blobs: new BlobStore(path.join(root, 'b')) });
    const attrs = (id: string) => manifest.items.find((i) => i.id === id)!.attributes;
    expect(attrs('alexnet__relu0__s01')).toEqual({ loss: 0.25, model_prediction: 'bear' });
    expect(attrs('alexnet__final__s02')).toEqual({ match_r2: 0.97, model_prediction: 'dog' });
    expect(attrs('alexnet__final__s03')).toEqual({ match_r2: 0.5 });
    expect(attrs('natural__s01')).toEqual({});
  });

  it('reports progress up to the number of files read', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), { masks: 2 });
    const calls: [number, number][] = [];
    await validateStimulusSet(set.dir, { onProgress: (d, t) => calls.push([d, t]) });
    const total = set.naturals.length + set.practice.length + set.metamers.length + 2;
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
    expect(calls).toHaveLength(total + 1);
  });

  it('imports JPEG stimuli (stored as .jpg blobs) beside PNG ones of the same size', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), { size: 32 });
    const data = Buffer.alloc(32 * 32 * 4, 90);
    const jpg = Buffer.from(jpeg.encode({ data, width: 32, height: 32 }, 90).data);
    await fs.rm(path.join(set.dir, 'alexnet/final/dog/s05.png'));
    await fs.writeFile(path.join(set.dir, 'alexnet/final/dog/s05.jpg'), jpg);
    const blobs = new BlobStore(path.join(root, 'b'));
    const { manifest } = await importStimulusSet(set.dir, { blobs });
    const item = manifest.items.find((i) => i.id === 'alexnet__final__s05')!;
    expect(item.file).toBe('alexnet/final/dog/s05.jpg');
    expect(item.media).toEqual({ kind: 'image', format: 'jpeg', width: 32, height: 32, channels: 3 });
    expect(await blobs.has(item.sha256!, 'jpg')).toBe(true);
  });
});
