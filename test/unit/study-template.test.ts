/**
 * `metamer study init`: the config it writes must pass `study create`'s own checks for the set it
 * was made for, whatever the set's size, with the paper's counts where they fit and scaled ones
 * where they do not. And README's tables of config fields must match the schema and its defaults.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { importStimulusSet } from '../../stimuli/import.ts';
import { writeExampleSet } from '../../stimuli/example-set.ts';
import { Manifest } from '../../stimuli/manifest.ts';
import { studyDesign } from '../../server/session-plan.ts';
import { Protocol, PROTOCOL_DEFAULTS, StudyConfig, StudyConfigInput } from '../../server/study-config.ts';
import { studyTemplate } from '../../server/study-template.ts';
import { makeImageSet } from '../fixtures/stimulus-sets.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metamer-template-'));
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function imported(setDir: string, name: string): Promise<Manifest> {
  return (await importStimulusSet(setDir, { name, blobs: new BlobStore(path.join(dir, 'blobs')) })).manifest;
}

/** Passes exactly what `study create` checks (studies.ts: the schema, then the set). */
function acceptedByCreate(manifest: Manifest, config: unknown): void {
  studyDesign(StudyConfig.parse(config), manifest);
}

describe('study init', () => {
  it("scales the paper's protocol to the example set and the result is accepted", async () => {
    const setDir = path.join(dir, 'example');
    const report = writeExampleSet(setDir);
    expect(report).toMatchObject({ sources: 8, practice: 8, categories: ['disk', 'ring', 'square', 'frame'] });
    const manifest = await imported(setDir, 'example');
    // The paper's own counts do not fit: README's old example failed on exactly this.
    expect(() =>
      acceptedByCreate(manifest, {
        id: 'x',
        stimulus_set: 'example',
        modality: 'image',
        prolific: { completion_code: 'A', screenout_code: 'B' },
        target_completed: 5,
      }),
    ).toThrow(/practice keeps 16 of the set's practice items .* the set example has 8 practice items/);
    const { config, explanation } = studyTemplate(manifest, { id: 'first-study' });
    acceptedByCreate(manifest, config);
    expect(config.protocol).toEqual({
      practice_trials: 4,
      slow_practice_trials: 1,
      screening_trials: 4,
      screening_min_correct: 3,
      catch_trials: 2,
    });
    expect(config.target_completed).toBe(20);
    for (const [field, value] of Object.entries(config.protocol!)) expect(explanation).toContain(`| \`${field}\` | ${value} |`);
  });

  it('fits sets of every size, down to none with practice items', async () => {
    for (const practicePerCategory of [0, 1, 3]) {
      const setDir = path.join(dir, `tiny-${practicePerCategory}`);
      await makeImageSet(setDir, { practicePerCategory, sourcesPerCategory: 1 });
      const manifest = await imported(setDir, `tiny-${practicePerCategory}`);
      const { config } = studyTemplate(manifest, { id: 'tiny', target: 7 });
      acceptedByCreate(manifest, config);
      const p = config.protocol!;
      const pool = 4 * practicePerCategory;
      expect(p.practice_trials! + p.screening_trials!).toBeLessThanOrEqual(pool);
      expect(p.screening_min_correct).toBeLessThanOrEqual(p.screening_trials!);
      // Natural plus the fixture model's 3 layers: the target is rounded up to a multiple of 4.
      expect(config.target_completed).toBe(8);
    }
  });

  it("keeps the paper's counts where the set has room for them (the demo sets)", () => {
    for (const modality of ['image', 'audio'] as const) {
      const manifest = Manifest.parse(JSON.parse(fs.readFileSync(path.join(ROOT, 'stimuli/demo', modality, 'manifest.json'), 'utf8')));
      const { config } = studyTemplate(manifest, { id: `demo-${modality}-2` });
      acceptedByCreate(manifest, config);
      const d = PROTOCOL_DEFAULTS[modality];
      expect(config.protocol).toMatchObject({
        practice_trials: d.practice_trials,
        screening_trials: d.screening_trials,
        screening_min_correct: d.screening_min_correct,
      });
    }
  });
});

describe("README's config tables", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = (heading: string) => {
    const at = readme.indexOf(heading);
    expect(at, heading).toBeGreaterThan(0);
    const rows = readme.slice(at).split('\n\n')[1]!.split('\n').slice(2);
    return rows.map((r) =>
      r
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  };

  it('names every protocol field with its image and audio default', () => {
    const rows = table('### The protocol fields');
    const shown = new Map(rows.map((r) => [r[0]!.replace(/`/g, ''), [r[2], r[3]]]));
    expect([...shown.keys()].sort()).toEqual(Object.keys(Protocol.shape).sort());
    const asShown = (v: unknown) =>
      typeof v === 'string' ? `\`"${v}"\`` : Array.isArray(v) ? `\`${JSON.stringify(v).replace(/,/g, ', ')}\`` : String(v);
    for (const modality of ['image', 'audio'] as const) {
      const filled = Protocol.parse(PROTOCOL_DEFAULTS[modality]);
      for (const [field, value] of Object.entries(filled)) {
        const cell = shown.get(field)![modality === 'image' ? 0 : 1]!;
        expect([field, cell.replace(/^`([a-z]+)`$/, '`"$1"`')]).toEqual([field, asShown(value)]);
      }
    }
  });

  it('names every top-level config field', () => {
    const named = table('The fields (only').flatMap((r) => r[0]!.split(',').map((c) => c.trim().replace(/`/g, '')));
    expect(named.sort()).toEqual(Object.keys(StudyConfigInput.shape).sort());
  });
});
