import { describe, expect, it } from 'vitest';
import { assignConditions, studySourceOrder } from '../../server/assignment.ts';
import { buildSessionPlan, studyDesign } from '../../server/session-plan.ts';
import { StudyConfig } from '../../server/study-config.ts';
import { Manifest, type ManifestInput } from '../../stimuli/manifest.ts';

const sha = (s: string) => Array.from({ length: 64 }, (_, i) => '0123456789abcdef'[(s.charCodeAt(i % s.length) + i) % 16]).join('');

/** A manifest as the importer leaves it (sha256 and media filled), built in memory. */
function manifest(opts: {
  sources: number;
  categories: string[];
  layers: string[];
  missing?: [string, string][];
  practice?: number;
}): Manifest {
  const media = { kind: 'image' as const, format: 'png' as const, width: 64, height: 64, channels: 3 };
  const items: ManifestInput['items'] = [];
  for (let s = 0; s < opts.sources; s++) {
    const category = opts.categories[s % opts.categories.length]!;
    const source_id = `src${String(s).padStart(3, '0')}`;
    items.push({
      id: `natural__${source_id}`,
      file: `n/${source_id}.png`,
      category,
      source_id,
      condition: 'natural',
      sha256: sha(`n${s}`),
      media,
    });
    opts.layers.forEach((layer, li) => {
      if (opts.missing?.some(([src, l]) => src === source_id && l === layer)) return;
      items.push({
        id: `net__${layer}__${source_id}`,
        file: `net/${layer}/${source_id}.png`,
        category,
        source_id,
        condition: { model: 'net', layer, layer_index: li + 1 },
        sha256: sha(`m${s}${layer}`),
        media,
      });
    });
  }
  for (let p = 0; p < (opts.practice ?? 0); p++) {
    const category = opts.categories[p % opts.categories.length]!;
    items.push({
      id: `practice__p${p}`,
      file: `p/${p}.png`,
      category,
      source_id: `p${p}`,
      condition: 'natural',
      role: 'practice',
      sha256: sha(`p${p}`),
      media,
    });
  }
  return Manifest.parse({
    name: 'set',
    modality: 'image',
    categories: opts.categories,
    models: [{ model: 'net', layers: opts.layers }],
    items,
    masks: [{ file: 'm.png', sha256: sha('mask') }],
  });
}

function config(extra: object = {}) {
  return StudyConfig.parse({
    id: 'study',
    stimulus_set: 'set',
    modality: 'image',
    prolific: { completion_code: 'DONE1', screenout_code: 'OUT1' },
    target_completed: 10,
    protocol: { practice_trials: 0, screening_trials: 0, catch_trials: 0 },
    ...extra,
  });
}

describe('Latin-square assignment', () => {
  it('balances conditions within every participant to ⌊S/C⌋ or ⌈S/C⌉', () => {
    const sources = Array.from({ length: 23 }, (_, i) => i);
    const conditions = ['a', 'b', 'c', 'd', 'e'];
    for (let slot = 0; slot < 12; slot++) {
      const counts = new Map<string, number>();
      for (const { condition } of assignConditions(sources, conditions, slot)) counts.set(condition, (counts.get(condition) ?? 0) + 1);
      for (const c of conditions) expect([4, 5]).toContain(counts.get(c));
    }
  });

  it('sees every (source, condition) pair exactly k times over C·k participants', () => {
    const sources = Array.from({ length: 17 }, (_, i) => `s${i}`);
    const conditions = ['natural', 'l1', 'l2', 'l3'];
    for (const k of [1, 3]) {
      const seen = new Map<string, number>();
      for (let slot = 0; slot < conditions.length * k; slot++) {
        for (const { source, condition } of assignConditions(sources, conditions, slot)) {
          const key = `${source}|${condition}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      expect(seen.size).toBe(sources.length * conditions.length);
      expect(new Set(seen.values())).toEqual(new Set([k]));
    }
  });

  it('orders sources reproducibly from the seed, differently for another seed', () => {
    const sources = Array.from({ length: 50 }, (_, i) => i);
    expect(studySourceOrder(sources, 7)).toEqual(studySourceOrder(sources, 7));
    expect(studySourceOrder(sources, 7)).not.toEqual(studySourceOrder(sources, 8));
    expect([...studySourceOrder(sources, 7)].sort((a, b) => a - b)).toEqual(sources);
  });
});

describe('session plan', () => {
  it('shows every main source exactly once, each in its assigned condition', () => {
    const m = manifest({ sources: 12, categories: ['bear', 'car', 'dog'], layers: ['l1', 'l2', 'l3'] });
    const plan = buildSessionPlan(config(), m, 2);
    const main = plan.trials.filter((t) => t.phase === 'main');
    expect(main).toHaveLength(12);
    expect(new Set(main.map((t) => t.source_id)).size).toBe(12);
    const perCondition = new Map<string, number>();
    for (const t of main) perCondition.set(t.layer, (perCondition.get(t.layer) ?? 0) + 1);
    // 12 sources over 4 conditions (natural + 3 layers): 3 each.
    expect([...perCondition.values()]).toEqual([3, 3, 3, 3]);
    for (const t of main) {
      const item = m.items.find((i) => i.id === t.stimulus_id)!;
      expect(item.source_id).toBe(t.source_id);
      expect(item.category).toBe(t.category);
      expect(t.file).toBe(`${item.sha256}.png`);
    }
  });

  it('shows the natural stimulus where the assigned metamer is missing, and says so', () => {
    const m = manifest({
      sources: 8,
      categories: ['bear', 'car'],
      layers: ['l1', 'l2', 'l3'],
      missing: [
        ['src001', 'l2'],
        ['src005', 'l3'],
      ],
    });
    let fallbacks = 0;
    for (let slot = 0; slot < 4; slot++) {
      for (const t of buildSessionPlan(config(), m, slot).trials) {
        if (t.fallback_for === undefined) continue;
        fallbacks++;
        expect(t.layer).toBe('natural');
        expect(t.stimulus_id).toBe(`natural__${t.source_id}`);
        expect([`net/l2`, `net/l3`]).toContain(t.fallback_for);
        expect([
          ['src001', 'net/l2'],
          ['src005', 'net/l3'],
        ]).toContainEqual([t.source_id, t.fallback_for]);
      }
    }
    // Over the 4 slots of one Latin-square cycle each missing pair is drawn exactly once.
    expect(fallbacks).toBe(2);
  });

  it('is reproducible from (seed, slot) and differs across slots', () => {
    const m = manifest({ sources: 20, categories: ['bear', 'car', 'dog', 'knife'], layers: ['l1', 'l2'], practice: 8 });
    const cfg = config({ protocol: { practice_trials: 4, screening_trials: 4, screening_min_correct: 3, catch_trials: 2 } });
    expect(buildSessionPlan(cfg, m, 5)).toEqual(buildSessionPlan(cfg, m, 5));
    expect(buildSessionPlan(cfg, m, 5).trials.map((t) => t.stimulus_id)).not.toEqual(
      buildSessionPlan(cfg, m, 6).trials.map((t) => t.stimulus_id),
    );
    const other = config({ seed: 99, protocol: { practice_trials: 4, screening_trials: 4, screening_min_correct: 3, catch_trials: 2 } });
    expect(buildSessionPlan(other, m, 5).trials.map((t) => t.stimulus_id)).not.toEqual(
      buildSessionPlan(cfg, m, 5).trials.map((t) => t.stimulus_id),
    );
  });

  it('puts practice, then screening, then the main block with catch trials, all from the practice pool', () => {
    const m = manifest({ sources: 10, categories: ['bear', 'car'], layers: ['l1'], practice: 8 });
    const cfg = config({
      protocol: {
        practice_trials: 4,
        slow_practice_trials: 2,
        screening_trials: 3,
        screening_min_correct: 2,
        catch_trials: 2,
        rest_breaks: [0.5],
      },
    });
    const plan = buildSessionPlan(cfg, m, 0);
    expect(plan.trials.map((t) => t.index)).toEqual(plan.trials.map((_, i) => i));
    expect(plan.trials.slice(0, 4).every((t) => t.phase === 'practice')).toBe(true);
    expect(plan.trials.slice(4, 7).every((t) => t.phase === 'screening')).toBe(true);
    expect(plan.screeningLastIndex).toBe(6);
    const block = plan.trials.slice(7);
    expect(block.filter((t) => t.phase === 'catch')).toHaveLength(2);
    expect(block.filter((t) => t.phase === 'main')).toHaveLength(10);
    for (const t of plan.trials.filter((x) => x.phase !== 'main')) expect(t.stimulus_id.startsWith('practice__')).toBe(true);
    expect(plan.trials[0]!.stimulus_ms).toBe(400);
    expect(plan.trials[2]!.stimulus_ms).toBe(300);
    // No screening or catch trial shows an image whose answer practice gave; catch trials prefer
    // images screening did not show (8 items: 4 practice, 3 screening, 1 left for 2 catch trials).
    const practiceIds = new Set(plan.trials.slice(0, 4).map((t) => t.stimulus_id));
    const screeningIds = new Set(plan.trials.slice(4, 7).map((t) => t.stimulus_id));
    const catchIds = block.filter((t) => t.phase === 'catch').map((t) => t.stimulus_id);
    for (const id of [...screeningIds, ...catchIds]) expect(practiceIds.has(id)).toBe(false);
    expect(catchIds.filter((id) => !screeningIds.has(id))).toHaveLength(1);
    expect(plan.restAfter).toEqual([7 + 6 - 1]);
    expect(plan.trials.every((t) => t.mask === `${sha('mask')}.png`)).toBe(true);
  });

  it('refuses a config that does not fit the set, naming the field', () => {
    const m = manifest({ sources: 4, categories: ['bear', 'car'], layers: ['l1'] });
    expect(() => studyDesign(config({ conditions: { models: [{ model: 'nope' }] } }), m)).toThrow(/conditions.models: .*no model "nope"/);
    expect(() => studyDesign(config({ conditions: { models: [{ model: 'net', layers: ['l9'] }] } }), m)).toThrow(/no layer "l9"/);
    expect(() => studyDesign(config({ protocol: { practice_trials: 2 } }), m)).toThrow(/no practice items/);
    expect(() => studyDesign(config({ modality: 'audio' }), m)).toThrow(/modality/);
    const small = manifest({ sources: 4, categories: ['bear', 'car'], layers: ['l1'], practice: 6 });
    expect(() => studyDesign(config({ protocol: { practice_trials: 4, screening_trials: 3, screening_min_correct: 2 } }), small)).toThrow(
      /practice keeps 4 of the set's practice items for itself \(practice_pool\), and 3 screening trials need as many others.*has 6 practice items/,
    );
    expect(() => studyDesign(config({ protocol: { practice_trials: 6, screening_trials: 0, catch_trials: 2 } }), small)).toThrow(
      /catch trials need at least one other/,
    );
    expect(() =>
      studyDesign(config({ protocol: { practice_trials: 2, practice_pool: 4, screening_trials: 3, screening_min_correct: 2 } }), small),
    ).toThrow(/practice keeps 4/);
  });

  it('keeps practice items apart from screening and catch items in every session of the study', () => {
    const m = manifest({ sources: 8, categories: ['bear', 'car', 'dog', 'knife'], layers: ['l1'], practice: 16 });
    const cfg = config({
      protocol: { practice_trials: 4, practice_pool: 6, screening_trials: 4, screening_min_correct: 2, catch_trials: 4 },
    });
    const design = studyDesign(cfg, m);
    expect(design.practicePool).toHaveLength(6);
    expect(design.testPool).toHaveLength(10);
    // The practice pool shows every category it can (dealt round-robin from a seeded shuffle).
    expect(new Set(design.practicePool.map((i) => i.category)).size).toBe(4);
    const practised = new Set<string>();
    const tested = new Set<string>();
    for (let slot = 0; slot < 40; slot++) {
      for (const t of buildSessionPlan(cfg, m, slot, design).trials) {
        if (t.phase === 'practice') practised.add(t.stimulus_id);
        if (t.phase === 'screening' || t.phase === 'catch') tested.add(t.stimulus_id);
      }
    }
    expect([...practised].filter((id) => tested.has(id))).toEqual([]);
    expect(practised.size).toBe(6);
  });

  it('refuses a practice item that shares a file or a source with a screening, catch or main item, naming both', () => {
    const m = manifest({ sources: 4, categories: ['bear', 'car'], layers: ['l1'], practice: 6 });
    const cfg = config({ protocol: { practice_trials: 6, practice_pool: 6, screening_trials: 0, catch_trials: 0 } });
    const copy = structuredClone(m);
    // A practice image that is a copy of a main natural image (same bytes).
    copy.items.find((i) => i.id === 'practice__p0')!.sha256 = copy.items.find((i) => i.id === 'natural__src002')!.sha256;
    expect(() => studyDesign(cfg, copy)).toThrow(
      /practice items must share no file or source.*practice__p0 has the same file as main item natural__src002/,
    );
    const sameSource = structuredClone(m);
    sameSource.items.find((i) => i.id === 'practice__p1')!.source_id = 'src003';
    expect(() => studyDesign(cfg, sameSource)).toThrow(/practice__p1 shares source "src003" with main item/);
    expect(() => studyDesign(cfg, m)).not.toThrow();
  });
});
