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
  it('fills the paper protocol for the modality', () => {
    const c = StudyConfig.parse(base);
    expect(c.protocol).toMatchObject({ practice_trials: 16, screening_trials: 12, screening_min_correct: 7, catch_trials: 16 });
    expect(c.timing).toMatchObject({ fixation_ms: 300, stimulus_ms: 300, mask_ms: 300, practice_stimulus_ms: 400 });
    expect(StudyConfig.parse({ ...base, modality: 'audio' }).protocol).toMatchObject({ practice_trials: 10, screening_min_correct: 5 });
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
