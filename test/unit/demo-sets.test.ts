/**
 * The committed demo sets (the real run's output, served by `npm start`): format, counts, the
 * models' accuracy floor, and the byte budget.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { importStimulusSet } from '../../stimuli/import.ts';
import { Manifest, isNatural } from '../../stimuli/manifest.ts';
import { decodeGreyPng } from '../../stimuli/demo/generator/stimulus-files.ts';
import type { SetReport } from '../../stimuli/demo/generator/set-generator.ts';

const DEMO = join(import.meta.dirname, '..', '..', 'stimuli', 'demo');
const tmp = mkdtempSync(join(tmpdir(), 'demo-sets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function files(dir: string): Array<{ path: string; size: number }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : [{ path: p, size: statSync(p).size }];
  });
}

const expected = {
  image: { categories: 16, models: ['standard_cnn', 'robust_cnn'], minPractice: 2 * 16 },
  audio: { categories: 8, models: ['standard_audionet', 'robust_audionet'], minPractice: 16 },
} as const;

describe.each(['image', 'audio'] as const)('committed %s set', (modality) => {
  const dir = join(DEMO, modality);
  const manifest = Manifest.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const report = JSON.parse(readFileSync(join(dir, 'generation-report.json'), 'utf8')) as SetReport;

  it('has the agreed categories, models, layers, sources and practice items', () => {
    const e = expected[modality];
    expect(manifest.modality).toBe(modality);
    expect(manifest.categories.length).toBe(e.categories);
    expect(manifest.models.map((m) => m.model)).toEqual(e.models);
    for (const m of manifest.models) expect(m.layers).toEqual(['input', 'conv1_relu', 'conv2_relu', 'conv3_relu', 'conv4_relu', 'final']);
    for (const c of manifest.categories) {
      const mains = new Set(manifest.items.filter((i) => i.role === 'main' && i.category === c).map((i) => i.source_id));
      expect(mains.size, c).toBeGreaterThanOrEqual(4);
    }
    const practice = manifest.items.filter((i) => i.role === 'practice');
    expect(practice.length).toBeGreaterThanOrEqual(e.minPractice);
    expect(practice.every((i) => isNatural(i.condition))).toBe(true);
    for (const item of manifest.items) for (const model of e.models) expect(item.attributes).toHaveProperty(`prediction_${model}`);
  });

  // The networks themselves are not committed, so their held-out accuracy cannot be measured again
  // here: what can be checked is the run's own record, against the predictions it shipped.
  it("records ≥ 90% held-out accuracy for each model, and the shipped predictions bear it out on the set's natural stimuli", () => {
    for (const m of report.models) expect(m.heldOutAccuracy, m.model).toBeGreaterThanOrEqual(0.9);
    const natural = new Map(manifest.items.filter((i) => isNatural(i.condition)).map((i) => [i.id, i.category]));
    const rows = parse(readFileSync(join(dir, 'predictions.csv'), 'utf8'), { columns: true }) as {
      stimulus_id: string;
      observer_model: string;
      predicted_category: string;
    }[];
    for (const m of report.models) {
      const own = rows.filter((r) => r.observer_model === m.model && natural.has(r.stimulus_id));
      expect(own.length, m.model).toBe(natural.size);
      const right = own.filter((r) => r.predicted_category === natural.get(r.stimulus_id)).length;
      expect(right / own.length, m.model).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('is accepted by the project importer', async () => {
    const { manifest: imported } = await importStimulusSet(dir, { blobs: new BlobStore(join(tmp, modality)) });
    expect(imported.items.length).toBe(manifest.items.length);
  }, 120_000);

  if (modality === 'image') {
    it('ships noise masks the size of the images', () => {
      expect(manifest.masks.length).toBeGreaterThan(0);
      const first = decodeGreyPng(readFileSync(join(dir, manifest.items[0]!.file)));
      for (const mask of manifest.masks) {
        const m = decodeGreyPng(readFileSync(join(dir, mask.file)));
        expect([m.width, m.height]).toEqual([first.width, first.height]);
      }
    });
  }
});

it('the committed outputs fit the byte budget: ≤ 15 MB in all, no file over 4 MB', () => {
  const all = [...files(join(DEMO, 'image')), ...files(join(DEMO, 'audio'))];
  all.push({ path: join(DEMO, 'README.md'), size: statSync(join(DEMO, 'README.md')).size });
  expect(all.reduce((a, f) => a + f.size, 0)).toBeLessThanOrEqual(15e6);
  for (const f of all) expect(f.size, f.path).toBeLessThanOrEqual(4 * 1024 * 1024);
});
