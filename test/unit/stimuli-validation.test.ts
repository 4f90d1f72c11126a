/**
 * Every class of problem in a stimulus set: each is listed with its file and field, the import
 * throws a user error listing all of them, and nothing enters the blob store.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { type ImportOptions, type Problem, StimulusSetError, importStimulusSet, validateStimulusSet } from '../../stimuli/import.ts';
import { patternPng, pcm16Wav, makeAudioSet, makeImageSet, toneWav } from '../fixtures/stimulus-sets.ts';
import { filesUnder, useTempDirs } from '../fixtures/temp-dir.ts';

const tmp = useTempDirs();

async function imageSet(): Promise<string> {
  return (await makeImageSet(path.join(await tmp(), 'set'))).dir;
}

/** Validates, and checks that importing throws the same problems and stores nothing. */
async function problemsOf(dir: string, opts: ImportOptions = {}): Promise<Problem[]> {
  const { problems } = await validateStimulusSet(dir, opts);
  const blobs = new BlobStore(path.join(await tmp(), 'blobs'));
  const err = await importStimulusSet(dir, { ...opts, blobs }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StimulusSetError);
  expect((err as StimulusSetError).expose).toBe(true);
  expect((err as StimulusSetError).problems).toEqual(problems);
  expect(await filesUnder(blobs.root)).toEqual([]);
  return problems;
}

const rel = (dir: string, p: Problem): Problem => ({ ...p, file: path.relative(dir, p.file) });
const put = async (dir: string, file: string, data: Buffer | string): Promise<void> => {
  await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await fs.writeFile(path.join(dir, file), data);
};

describe('stimulus-set problems', () => {
  it('a clean fixture set has none', async () => {
    expect((await validateStimulusSet(await imageSet())).problems).toEqual([]);
  });

  it('unknown category', async () => {
    const dir = await imageSet();
    await put(dir, 'natural/zebra/s99.png', patternPng(64, 'zebra', 's99', 0, 1));
    const ps = await problemsOf(dir);
    expect(ps.map((p) => rel(dir, p))).toEqual([
      {
        file: 'natural/zebra/s99.png',
        field: 'category',
        message: `unknown category "zebra" (not in ${path.join(dir, 'categories.txt')})`,
      },
    ]);
  });

  it('metamer without a natural source', async () => {
    const dir = await imageSet();
    await fs.rm(path.join(dir, 'natural/bear/s01.png'));
    const ps = await problemsOf(dir);
    expect(ps.map((p) => rel(dir, p).file)).toEqual([
      'alexnet/final/bear/s01.png',
      'alexnet/relu0/bear/s01.png',
      'alexnet/relu2/bear/s01.png',
    ]);
    expect(ps.every((p) => p.field === 'source' && p.message === 'metamer of source "s01", which has no natural stimulus')).toBe(true);
  });

  it('metamer filed under another category than its natural source', async () => {
    const dir = await imageSet();
    await fs.rename(path.join(dir, 'alexnet/relu0/bear/s01.png'), path.join(dir, 'alexnet/relu0/car/s01.png'));
    const [p, ...rest] = await problemsOf(dir);
    expect(rest).toEqual([]);
    expect(rel(dir, p!)).toMatchObject({ file: 'alexnet/relu0/car/s01.png', field: 'category' });
    expect(p!.message).toMatch(/^category "car" differs from its natural source's "bear"/);
  });

  it('mixed image sizes (the odd file is named, against the size most files have)', async () => {
    const dir = await imageSet();
    await put(dir, 'alexnet/relu2/dog/s05.png', patternPng(32, 'dog', 's05', 2, 1));
    const ps = await problemsOf(dir);
    expect(ps.map((p) => rel(dir, p))).toEqual([
      {
        file: 'alexnet/relu2/dog/s05.png',
        field: 'width',
        message: "image is 32×32 px but the set's images are 64×64 px (the size of most files)",
      },
    ]);
  });

  it('mixed audio sample rates and channel counts', async () => {
    const dir = (await makeAudioSet(path.join(await tmp(), 'aud'))).dir;
    await put(dir, 'alexnet/relu0/car/s03.wav', toneWav(16000, 0.25, 'car', 's03', 1, 1));
    const stereo = pcm16Wav(new Float32Array(10000).fill(0.1), 20000, 2);
    await put(dir, 'natural/dog/s05.wav', stereo);
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      {
        file: 'alexnet/relu0/car/s03.wav',
        field: 'sample_rate',
        message: "16000 Hz but the set's clips are 20000 Hz (the rate of most files)",
      },
      { file: 'natural/dog/s05.wav', field: 'channels', message: "2 channel(s) but the set's clips have 1 (most files)" },
    ]);
  });

  it('truncated, empty, mis-signed and unsupported files', async () => {
    const dir = await imageSet();
    const png = await fs.readFile(path.join(dir, 'natural/bear/s01.png'));
    await fs.writeFile(path.join(dir, 'natural/bear/s01.png'), png.subarray(0, png.length - 30));
    await fs.writeFile(path.join(dir, 'natural/car/s03.png'), '');
    await fs.writeFile(path.join(dir, 'natural/dog/s05.png'), 'GIF89a this is not a png');
    await put(dir, 'natural/knife/s09.gif', 'GIF89a');
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      { file: 'natural/bear/s01.png', field: 'content', message: 'truncated PNG: no IEND chunk at the end of the file' },
      { file: 'natural/car/s03.png', field: 'content', message: 'empty file (0 bytes)' },
      { file: 'natural/dog/s05.png', field: 'format', message: 'not a PNG file (wrong signature)' },
      { file: 'natural/knife/s09.gif', field: 'format', message: 'unsupported file type: the platform serves PNG, JPEG and WAV stimuli' },
    ]);
  });

  it('a truncated WAV', async () => {
    const dir = (await makeAudioSet(path.join(await tmp(), 'aud'))).dir;
    const f = path.join(dir, 'alexnet/final/knife/s08.wav');
    const wav = await fs.readFile(f);
    await fs.writeFile(f, wav.subarray(0, 1000));
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      {
        file: 'alexnet/final/knife/s08.wav',
        field: 'data',
        message: 'truncated WAV: the data chunk declares 10000 bytes but the file holds 956',
      },
    ]);
  });

  it('two files claiming the same (source, model, layer)', async () => {
    const dir = await imageSet();
    await fs.copyFile(path.join(dir, 'alexnet/relu0/bear/s01.png'), path.join(dir, 'alexnet/relu0/bear/s01.jpg'));
    const ps = await problemsOf(dir);
    // The copy is also a PNG named .jpg: both problems are listed.
    expect(ps.map((p) => rel(dir, p))).toEqual([
      { file: 'alexnet/relu0/bear/s01.jpg', field: 'format', message: 'the file is a PNG but its name says JPEG' },
      {
        file: 'alexnet/relu0/bear/s01.png',
        field: 'source',
        message: `two files claim the (source "s01", model "alexnet", layer "relu0"): this one and ${path.join(dir, 'alexnet/relu0/bear/s01.jpg')}`,
      },
    ]);
  });

  it("a layer not in the model's layer order, and a model without one", async () => {
    const dir = await imageSet();
    await put(dir, 'alexnet/relu9/bear/s01.png', patternPng(64, 'bear', 'x', 1, 1));
    await put(dir, 'vgg16/conv5/bear/s01.png', patternPng(64, 'bear', 'y', 1, 1));
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      {
        file: 'alexnet/relu9',
        field: 'layer',
        message: `layer "relu9" is not in the layer order of model "alexnet" (${path.join(dir, 'alexnet/layers.txt')}: relu0, relu2, final)`,
      },
      {
        file: 'vgg16',
        field: 'layers',
        message:
          'no layer order for model "vgg16": add vgg16/layers.txt (one layer per line, in network order) or --layers vgg16=<layer1>,<layer2>,…',
      },
    ]);
  });

  it('modality mismatch: a WAV in an image set', async () => {
    const dir = await imageSet();
    await fs.rm(path.join(dir, 'alexnet/relu0/bear/s01.png'));
    await put(dir, 'alexnet/relu0/bear/s01.wav', toneWav(20000, 0.1, 'bear', 's01', 1, 1));
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      { file: 'alexnet/relu0/bear/s01.wav', field: 'format', message: 'a WAV file in an image set (modality mismatch)' },
    ]);
  });

  it('duplicate ids and practice items that are not natural (manifest.json)', async () => {
    const dir = await imageSet();
    const item = (id: string, file: string, source: string, condition: unknown, role = 'main') => ({
      id,
      file,
      category: 'bear',
      source_id: source,
      condition,
      role,
    });
    const manifest = {
      name: 'dup',
      modality: 'image',
      categories: ['bear', 'car'],
      models: [{ model: 'alexnet', layers: ['relu0', 'relu2', 'final'] }],
      items: [
        item('a', 'natural/bear/s01.png', 's01', 'natural'),
        item('a', 'natural/bear/s02.png', 's02', 'natural'),
        item('m', 'alexnet/relu0/bear/s01.png', 's01', { model: 'alexnet', layer: 'relu0', layer_index: 1 }, 'practice'),
        item('c', 'natural/car/s03.png', 's03', 'natural'),
      ],
    };
    manifest.items[3]!.category = 'car';
    await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      { file: 'alexnet/relu0/bear/s01.png', field: 'role', message: 'practice items must be natural stimuli, not metamers' },
      { file: 'natural/bear/s02.png', field: 'id', message: `duplicate id "a" (also ${path.join(dir, 'natural/bear/s01.png')})` },
    ]);
  });

  it('practice sources kept apart from main sources', async () => {
    const dir = await imageSet();
    await fs.copyFile(path.join(dir, 'practice/bear/p01.png'), path.join(dir, 'practice/bear/s01.png'));
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([
      {
        file: 'practice/bear/s01.png',
        field: 'source',
        message: `practice source "s01" is also a main source (${path.join(dir, 'natural/bear/s01.png')}); practice sources must be kept apart`,
      },
    ]);
  });

  it('files in no recognised place, and bad source names', async () => {
    const dir = await imageSet();
    await put(dir, 'natural/bear/extra/s20.png', patternPng(64, 'bear', 's20', 0, 1));
    await put(dir, 'natural/bear/s 21.png', patternPng(64, 'bear', 's21', 0, 1));
    await put(dir, 'stray.png', patternPng(64, 'bear', 's22', 0, 1));
    await put(dir, 'notes.txt', 'ignored');
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps.map((p) => [p.file, p.field ?? ''])).toEqual([
      ['natural/bear/extra/s20.png', ''],
      ['natural/bear/s 21.png', 'source'],
      ['stray.png', ''],
    ]);
    expect(ps[0]!.message).toMatch(/^not in a recognised place/);
  });

  it('lists every problem at once', async () => {
    const dir = await imageSet();
    await put(dir, 'natural/zebra/s99.png', patternPng(64, 'zebra', 's99', 0, 1));
    await put(dir, 'alexnet/relu2/dog/s05.png', patternPng(32, 'dog', 's05', 2, 1));
    await fs.writeFile(path.join(dir, 'natural/car/s03.png'), '');
    const ps = await problemsOf(dir);
    // Sorted by file: alexnet/… before natural/car/… before natural/zebra/….
    expect(ps.map((p) => p.field)).toEqual(['width', 'content', 'category']);
    const err = (await importStimulusSet(dir, { blobs: new BlobStore(path.join(await tmp(), 'b')) }).then(
      () => null,
      (e: unknown) => e,
    )) as StimulusSetError;
    expect(err.message).toMatch(/^3 problems in .*, nothing imported; first: /);
  });

  it('a manifest naming a file that does not exist', async () => {
    const dir = await imageSet();
    const items = [
      { id: 'n1', file: 'natural/bear/s01.png', category: 'bear', source_id: 's01', condition: 'natural' },
      { id: 'n2', file: 'natural/car/s03.png', category: 'car', source_id: 's03', condition: 'natural' },
      { id: 'n3', file: 'natural/car/gone.png', category: 'car', source_id: 'gone', condition: 'natural' },
    ];
    await fs.writeFile(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ name: 'm', modality: 'image', categories: ['bear', 'car'], items }),
    );
    const ps = (await problemsOf(dir)).map((p) => rel(dir, p));
    expect(ps).toEqual([{ file: 'natural/car/gone.png', message: 'file not found' }]);
  });
});
