import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StudyConfig } from '../../server/study-config.ts';
import { Manifest } from '../../stimuli/manifest.ts';

const base = {
  id: 'study',
  stimulus_set: 'set',
  modality: 'image',
  prolific: { completion_code: 'DONE1', screenout_code: 'OUT1' },
  target_completed: 10,
};

describe('study config', () => {
  it("fills in the image protocol README documents (the paper's), and a different one for audio", () => {
    // The defaults are what README promises experimenters; this ties the two together.
    const readme = fs.readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8').replace(/\s+/g, ' ');
    const n = (re: RegExp) => Number(re.exec(readme)?.[1] ?? NaN);
    const c = StudyConfig.parse(base);
    expect(c.protocol).toMatchObject({
      practice_trials: n(/for images (\d+) practice trials/),
      screening_trials: n(/(\d+) screening trials \(≥/),
      screening_min_correct: n(/screening trials \(≥ (\d+) correct/),
      catch_trials: n(/plus (\d+) catch trials/),
    });
    expect(c.timing).toMatchObject({
      fixation_ms: n(/fixation (\d+) ms/),
      stimulus_ms: n(/image (\d+) ms, mask/),
      mask_ms: n(/mask (\d+) ms \(/),
      practice_stimulus_ms: n(/\((\d+) ms on the first practice trials\)/),
    });
    // Audio has its own template (docs/audio-studies.md, checked in headphone-gate.test.ts).
    expect(StudyConfig.parse({ ...base, modality: 'audio' }).protocol.practice_trials).not.toBe(c.protocol.practice_trials);
  });

  it('refuses a misspelt key, naming where it is, instead of silently running the defaults', () => {
    for (const [bad, path] of [
      [{ ...base, protocol: { practise_trials: 2 } }, ['protocol']],
      [{ ...base, timming: {} }, []],
      [{ ...base, prolific: { ...base.prolific, completion: 'X' } }, ['prolific']],
      [{ ...base, exclusions: { catch_min: 0.5 } }, ['exclusions']],
    ] as const) {
      const r = StudyConfig.safeParse(bad);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.code).toBe('unrecognized_keys');
      expect(r.error!.issues[0]!.path).toEqual(path);
    }
  });

  it('refuses a screening threshold above the number of screening trials', () => {
    const r = StudyConfig.safeParse({ ...base, protocol: { screening_trials: 4, screening_min_correct: 5 } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['protocol', 'screening_min_correct']);
  });
});

describe('manifest', () => {
  it('refuses unknown keys (a misspelt field would otherwise vanish on import)', () => {
    const item = { id: 'a', file: 'a.png', category: 'bear', source_id: 's1', condition: 'natural' };
    expect(Manifest.safeParse({ name: 'set', modality: 'image', categories: ['bear', 'car'], items: [item] }).success).toBe(true);
    const r = Manifest.safeParse({ name: 'set', modality: 'image', categories: ['bear', 'car'], items: [{ ...item, sourceid: 's1' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['items', 0]);
  });
});
