/** `metamer stimuli …` run as a child process against a temporary database. */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/store/database.ts';
import { DEFAULT_RUN, makeModelMetamersTree } from '../fixtures/metamer-code-trees.ts';
import { makeImageSet, patternPng } from '../fixtures/stimulus-sets.ts';
import { filesUnder, useTempDirs } from '../fixtures/temp-dir.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/metamer.js');
const tmp = useTempDirs();

async function metamer(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, METAMER_DB: '' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('metamer stimuli', () => {
  it('import, list, re-import (no-op), and refusing another set under a taken name', async () => {
    const root = await tmp();
    const db = path.join(root, 'data', 'metamer.db');
    const set = await makeImageSet(path.join(root, 'set'), { missing: [{ source: 's04', model: 'alexnet', layer: 'final' }] });
    const first = await metamer(['--db', db, 'stimuli', 'import', set.dir, '--name', 'pilot']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('image set "pilot" (folder layout): 4 categories, 8 sources, 4 practice, 23 metamers');
    expect(first.stdout).toContain('3 final  7 metamers; 1 source without one (natural shown instead): s04');
    expect(first.stdout).toMatch(/imported "pilot" \(43 new files in the store\)/);

    const list = await metamer(['--db', db, 'stimuli', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'pilot', modality: 'image', items: 35, categories: 4 }]);
    const blobsBefore = await filesUnder(path.join(root, 'data', 'blobs'));
    expect(blobsBefore).toHaveLength(43);

    const again = await metamer(['--db', db, 'stimuli', 'import', set.dir, '--name', 'pilot', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, outcome: 'unchanged', report: { blobs_added: 0 } });

    await fs.writeFile(path.join(set.dir, 'natural/bear/s01.png'), patternPng(64, 'bear', 'changed', 0, 9));
    const clash = await metamer(['--db', db, 'stimuli', 'import', set.dir, '--name', 'pilot']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe('metamer: stimulus set "pilot" already exists with different content; import it under a new --name\n');
    expect(await filesUnder(path.join(root, 'data', 'blobs'))).toEqual(blobsBefore);
  });

  it('a broken model-metamers tree: one line per problem, exit 1, nothing imported', async () => {
    const root = await tmp();
    const db = path.join(root, 'm.db');
    const tree = await makeModelMetamersTree(root, {
      model: 'cochcnn9',
      layers: ['relu0_fakerelu', 'final'],
      sources: [
        { idx: 1, category: 'house' },
        { idx: 2, category: 'money' },
      ],
      modality: 'audio',
    });
    const cats = path.join(root, 'words.txt');
    await fs.writeFile(cats, 'house\nmoney\n');
    const base = path.join(tree.dir, 'metamers', DEFAULT_RUN);
    await fs.mkdir(path.join(base, '3_SOUND_zebra'));
    await fs.copyFile(path.join(base, '1_SOUND_house', 'orig.wav'), path.join(base, '3_SOUND_zebra', 'orig.wav'));
    const wav = path.join(base, '2_SOUND_money', '1_layer_final_synth.wav');
    await fs.truncate(wav, 3000);
    const r = await metamer(['--db', db, 'stimuli', 'import', '--from', 'model-metamers', tree.dir, '--categories-file', cats]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      `${wav}: data: truncated WAV: the data chunk declares 8000 bytes but the file holds 2956`,
      `${path.join(base, '3_SOUND_zebra', 'orig.wav')}: category: unknown category "zebra" (not in ${cats})`,
      `metamer: 2 problems in ${tree.dir}; nothing imported`,
      '',
    ]);
    const handle = openDatabase(db);
    try {
      expect(handle.prepare('SELECT COUNT(*) AS n FROM stimulus_sets').get()).toEqual({ n: 0 });
      expect(handle.prepare('SELECT COUNT(*) AS n FROM blobs').get()).toEqual({ n: 0 });
    } finally {
      handle.close();
    }
    expect(await filesUnder(path.join(root, 'blobs'))).toEqual([]);
  });

  it('validate writes nothing; --json reports; a bad --layers is a one-line user error', async () => {
    const root = await tmp();
    const db = path.join(root, 'never.db');
    const set = await makeImageSet(path.join(root, 'set'), { layersFiles: false });
    const v = await metamer(['--db', db, 'stimuli', 'validate', set.dir, '--layers', 'alexnet=relu0,relu2,final', '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, report: { layout: 'folder', metamers: 24 } });
    await expect(fs.stat(db)).rejects.toThrow();
    expect(await filesUnder(root)).not.toContain('blobs');

    const bad = await metamer(['--db', db, 'stimuli', 'validate', set.dir, '--layers', 'alexnet']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('metamer: --layers alexnet: expected <model>=<layer1>,<layer2>,…\n');

    const missing = await metamer(['--db', db, 'stimuli', 'validate', set.dir, '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).problems).toEqual([
      {
        file: path.join(set.dir, 'alexnet'),
        field: 'layers',
        message:
          'no layer order for model "alexnet": add alexnet/layers.txt (one layer per line, in network order) or --layers alexnet=<layer1>,<layer2>,…',
      },
    ]);
  });

  it('--help on every command; a progress bar on request; misuse exits 2', async () => {
    for (const cmd of ['import', 'validate', 'list']) {
      const h = await metamer(['stimuli', cmd, '--help']);
      expect(h.code, cmd).toBe(0);
      expect(h.stdout).toContain(`Usage: metamer stimuli ${cmd}`);
    }
    const root = await tmp();
    const set = await makeImageSet(path.join(root, 'set'));
    const p = await metamer(['stimuli', 'validate', set.dir, '--progress']);
    expect(p.code).toBe(0);
    expect(p.stderr).toContain('36/36 files');
    const quiet = await metamer(['stimuli', 'validate', set.dir]);
    expect(quiet.stderr).toBe('');
    expect((await metamer(['stimuli', 'import', set.dir, '--from', 'zip'])).code).toBe(2);
  });
});
