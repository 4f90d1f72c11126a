/** CSV manifests and manifest.json folders. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { detectLayout, importStimulusSet, validateStimulusSet } from '../../stimuli/import.ts';
import { NATURAL } from '../../stimuli/manifest.ts';
import { makeImageSet } from '../fixtures/stimulus-sets.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();

async function setWithCsv(
  rows: string[],
  header = 'id,file,category,source_id,model,layer,layer_index,role,model_prediction',
): Promise<string> {
  const set = await makeImageSet(path.join(await tmp(), 'set'), { categoriesFile: false, layersFiles: false });
  await fs.writeFile(path.join(set.dir, 'manifest.csv'), [header, ...rows].join('\n') + '\n');
  return set.dir;
}

describe('CSV manifest', () => {
  it('reads the documented columns; extra columns become attributes; ids default from the condition', async () => {
    const dir = await setWithCsv([
      ',natural/bear/s01.png,bear,s01,,,,,',
      'n2,natural/car/s03.png,car,s03,,natural,,main,',
      ',alexnet/relu2/bear/s01.png,bear,s01,alexnet,relu2,2,,dog',
      ',alexnet/relu0/car/s03.png,car,s03,alexnet,relu0,1,,car',
      ',practice/dog/p03.png,dog,p03,,,,practice,0.5',
    ]);
    expect(await detectLayout(dir)).toBe('csv');
    const { manifest } = await importStimulusSet(dir, { blobs: new BlobStore(path.join(await tmp(), 'b')), name: 'csvset' });
    expect(manifest.models).toEqual([{ model: 'alexnet', layers: ['relu0', 'relu2'] }]);
    expect(manifest.categories).toEqual(['bear', 'car', 'dog']);
    expect(
      manifest.items.map((i) => [
        i.id,
        i.role,
        i.condition === NATURAL ? NATURAL : `${i.condition.layer}:${i.condition.layer_index}`,
        i.attributes,
      ]),
    ).toEqual([
      ['natural__s01', 'main', NATURAL, {}],
      ['n2', 'main', NATURAL, {}],
      ['practice__p03', 'practice', NATURAL, { model_prediction: 0.5 }],
      ['alexnet__relu0__s03', 'main', 'relu0:1', { model_prediction: 'car' }],
      ['alexnet__relu2__s01', 'main', 'relu2:2', { model_prediction: 'dog' }],
    ]);
  });

  it('names the line and column of each problem', async () => {
    const dir = await setWithCsv([
      ',natural/bear/s01.png,bear,s01,,,,,',
      ',natural/car/s03.png,car,s03,,,,,',
      ',../outside.png,bear,s02,,,,,',
      ',alexnet/relu2/bear/s01.png,bear,s01,alexnet,,2,,',
      ',alexnet/relu0/car/s03.png,car,s03,alexnet,relu0,0,,',
      ',natural/dog/s05.png,dog,s05,,,,trial,',
      ',alexnet/final/bear/s01.png,bear,s01,alexnet,final,3,,',
    ]);
    const { problems } = await validateStimulusSet(dir);
    const shown = path.join(dir, 'manifest.csv');
    expect(problems).toEqual([
      {
        file: shown,
        field: 'layer_index',
        message: 'model "alexnet" has layer_index 3: they must run 1, 2, … without gaps (renumber, or give the full order with --layers)',
      },
      { file: shown, field: 'line 4: file', message: 'must not leave the manifest\'s folder ("..")' },
      {
        file: shown,
        field: 'line 5: layer',
        message: 'a metamer needs both model and layer (leave both empty, or layer "natural", for a natural stimulus)',
      },
      { file: shown, field: 'line 6: layer_index', message: '"0" is not a whole number ≥ 1' },
      { file: shown, field: 'line 7: role', message: '"trial" must be main or practice' },
    ]);
  });

  it('reports missing required columns, and takes layer order from --layers when layer_index is absent', async () => {
    const noCat = await setWithCsv([',natural/bear/s01.png,s01'], 'id,file,source_id');
    expect((await validateStimulusSet(noCat)).problems).toEqual([
      { file: path.join(noCat, 'manifest.csv'), field: 'category', message: 'missing column (required: file, category, source_id)' },
    ]);
    const dir = await setWithCsv(
      ['natural/bear/s01.png,bear,s01,,', 'natural/car/s03.png,car,s03,,', 'alexnet/final/bear/s01.png,bear,s01,alexnet,final'],
      'file,category,source_id,model,layer',
    );
    expect((await validateStimulusSet(dir)).problems.map((p) => p.field)).toEqual(['layer_index']);
    const r = await validateStimulusSet(path.join(dir, 'manifest.csv'), { layers: { alexnet: ['relu0', 'relu2', 'final'] } });
    expect(r.problems).toEqual([]);
    expect(r.manifest!.items.at(-1)!.condition).toEqual({ model: 'alexnet', layer: 'final', layer_index: 3 });
  });
});

describe('manifest.json', () => {
  it('re-imports the manifest an import produced (same manifest back), checking stated sha256 and media', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'), { masks: 2 });
    const blobs = new BlobStore(path.join(root, 'b'));
    const first = await importStimulusSet(set.dir, { blobs, name: 'roundtrip' });
    await fs.writeFile(path.join(set.dir, 'manifest.json'), JSON.stringify(first.manifest, null, 2));
    expect(await detectLayout(set.dir)).toBe('manifest');
    const again = await importStimulusSet(set.dir, { blobs });
    expect(again.manifest).toEqual(first.manifest);

    // A set whose masks were generated: the manifest lists generated/… masks, generated again.
    const plain = await makeImageSet(path.join(root, 'plain'));
    const gen = await importStimulusSet(plain.dir, { blobs, name: 'gen' });
    expect(gen.manifest.masks[0]!.file).toBe('generated/mask-01.png');
    await fs.writeFile(path.join(plain.dir, 'manifest.json'), JSON.stringify(gen.manifest));
    expect((await importStimulusSet(plain.dir, { blobs })).manifest).toEqual(gen.manifest);
    const changed = structuredClone(gen.manifest);
    changed.masks[0]!.sha256 = 'f'.repeat(64);
    await fs.writeFile(path.join(plain.dir, 'manifest.json'), JSON.stringify(changed));
    expect((await validateStimulusSet(plain.dir)).problems.map((p) => p.field)).toEqual(['masks']);

    const tampered = structuredClone(first.manifest);
    tampered.items[0]!.sha256 = '0'.repeat(64);
    tampered.items[1]!.media = { kind: 'image', format: 'png', width: 10, height: 64, channels: 3 };
    await fs.writeFile(path.join(set.dir, 'manifest.json'), JSON.stringify(tampered));
    const r = await validateStimulusSet(set.dir);
    expect(r.problems.map((p) => [path.relative(set.dir, p.file), p.field])).toEqual([
      ['natural/bear/s01.png', 'sha256'],
      ['natural/bear/s02.png', 'media'],
    ]);
  });

  it('lists schema errors with the item path and its file', async () => {
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'));
    await fs.writeFile(
      path.join(set.dir, 'manifest.json'),
      JSON.stringify({
        name: 'x',
        modality: 'video',
        categories: ['a', 'b'],
        items: [{ id: 'bad id', file: 'natural/bear/s01.png', category: 'a', source_id: 's01', condition: 'natural' }],
      }),
    );
    const { problems } = await validateStimulusSet(set.dir);
    expect(problems.map((p) => p.field)).toEqual(['items.0.id (natural/bear/s01.png)', 'modality']);
    expect(problems.every((p) => p.file === path.join(set.dir, 'manifest.json'))).toBe(true);
  });
});
