/**
 * The table from in-memory trial rows (the dashboard's entry point), exclusions, condition order,
 * row validation, the model × layer ANOVA's natural-level duplication, the writers and the figure.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { analyzeTrialRows, recognizabilityTableFromRows } from '../../analysis/analyze.ts';
import { recognizabilityFigureSpec, recognizabilityFigureSvg } from '../../analysis/figure.ts';
import { resultsToJson, resultToMarkdown, tableToCsv } from '../../analysis/report-format.ts';
import { rmAnova2 } from '../../analysis/rm-anova.ts';
import type { TrialRowInput } from '../../analysis/trial-row.ts';

function trials(
  participant: string,
  model: string,
  layer: string,
  layerIndex: number | undefined,
  correct: number[],
  extra: Partial<TrialRowInput> = {},
): TrialRowInput[] {
  return correct.map((c) => ({
    participant_id: participant,
    model,
    layer,
    ...(layerIndex === undefined ? {} : { layer_index: layerIndex }),
    correct: c as TrialRowInput['correct'],
    ...extra,
  }));
}

// Hand-worked: proportions per participant
//   natural: A 2/2 = 1, B 1/2 = 0.5, C 4/4 = 1        → mean 5/6, SD √(1/12), SEM √(1/12)/√3 = 1/6
//   m1/L1:   A 1/2 = 0.5, B 2/2 = 1, C —             → mean 0.75, SD √0.125, SEM 0.25
//   m1/L2:   A 1/4 = 0.25, B 0/1 = 0, C 1/2 = 0.5      → mean 0.25, SD 0.25, SEM 0.25/√3
// L2 rows come first but layer_index puts L1 first.
const ROWS: TrialRowInput[] = [
  ...trials('A', 'm1', 'L2', 2, [0, 0, 0, 1]),
  ...trials('B', 'm1', 'L2', 2, [0]),
  ...trials('C', 'm1', 'L2', 2, [1, 0]),
  ...trials('A', '', 'natural', 0, [1, 1]),
  ...trials('B', '', 'natural', 0, [1, 0]),
  ...trials('C', '', 'natural', 0, [1, 1, 1, 1]),
  ...trials('A', 'm1', 'L1', 1, [1, 0]),
  ...trials('B', 'm1', 'L1', 1, [true, true] as unknown as number[]),
  // Not part of recognizability: practice, catch and a preview session.
  ...trials('A', '', 'natural', 0, [0, 0, 0], { phase: 'practice' }),
  ...trials('A', '', 'natural', 0, [0, 0], { phase: 'catch' }),
  ...trials('B', '', 'natural', 0, [1, 1], { phase: 'catch' }),
  ...trials('P', 'm1', 'L1', 1, [0, 0, 0], { preview: 1 }),
];

describe('recognizabilityTableFromRows', () => {
  it('matches the hand-worked table', () => {
    const table = recognizabilityTableFromRows(ROWS, { studyId: 's1', bootstrap: 0, choices: 16 });
    expect(table.map((r) => [r.model, r.layer, r.layer_index])).toEqual([
      ['', 'natural', 0],
      ['m1', 'L1', 1],
      ['m1', 'L2', 2],
    ]);
    const [nat, l1, l2] = table;
    expect(nat).toMatchObject({ study_id: 's1', n_participants: 3, n_trials: 8, chance: 1 / 16, ci_low: null, ci_high: null });
    expect(nat!.recognizability).toBeCloseTo(5 / 6, 12);
    expect(nat!.sem).toBeCloseTo(1 / 6, 12);
    expect(l1).toMatchObject({ n_participants: 2, n_trials: 4 });
    expect(l1!.recognizability).toBeCloseTo(0.75, 12);
    expect(l1!.sem).toBeCloseTo(0.25, 12);
    expect(l2).toMatchObject({ n_participants: 3, n_trials: 7 });
    expect(l2!.recognizability).toBeCloseTo(0.25, 12);
    expect(l2!.sem).toBeCloseTo(0.25 / Math.sqrt(3), 12);
  });

  it('applies catch and natural accuracy rules and reports them', () => {
    const [r] = analyzeTrialRows(ROWS, {
      bootstrap: 0,
      exclusions: { incomplete: true, screened_out: true, flagged: false, catch_min_accuracy: 0.5, natural_min_accuracy: 0 },
    });
    // A has 0/2 catch trials; C has none and is not judged. Without session states the first two rules cannot apply.
    expect(r!.exclusions.counts.catch_accuracy).toBe(1);
    expect(r!.exclusions.excluded).toEqual([{ participant_id: 'A', rule: 'catch_accuracy', detail: 'catch accuracy 0/2 = 0.000 < 0.5' }]);
    expect(r!.exclusions.notes.join('\n')).toMatch(/no session_state column/);
    expect(r!.exclusions.notes.join('\n')).toMatch(/1 participant\(s\) had no catch trials/);
    expect(r!.exclusions.notes.join('\n')).toMatch(/3 trial\(s\) of experimenter previews/);
    // Natural: B and C remain → (0.5 + 1) / 2.
    expect(r!.table[0]!.recognizability).toBeCloseTo(0.75, 12);
    const [n] = analyzeTrialRows(ROWS, {
      bootstrap: 0,
      exclusions: { incomplete: true, screened_out: true, flagged: false, catch_min_accuracy: 0, natural_min_accuracy: 0.75 },
    });
    expect(n!.exclusions.excluded.map((e) => e.participant_id)).toEqual(['B']);
    expect(n!.exclusions.excluded[0]!.detail).toBe('natural accuracy 1/2 = 0.500 < 0.75');
  });

  it('excludes by session state when rows carry it', () => {
    const rows = [
      ...trials('A', '', 'natural', 0, [1, 1], { session_state: 'completed' }),
      ...trials('B', '', 'natural', 0, [0, 0], { session_state: 'abandoned' }),
      ...trials('C', '', 'natural', 0, [0], { session_state: 'screened_out', phase: 'screening' }),
    ];
    const [r] = analyzeTrialRows(rows, { bootstrap: 0 });
    expect(r!.exclusions.counts).toEqual({ screened_out: 1, incomplete: 1, flagged: 0, catch_accuracy: 0, natural_accuracy: 0 });
    expect(r!.table[0]!.recognizability).toBe(1);
    const [keep] = analyzeTrialRows(rows, {
      bootstrap: 0,
      exclusions: { incomplete: false, screened_out: false, flagged: false, catch_min_accuracy: 0, natural_min_accuracy: 0 },
    });
    expect(keep!.table[0]!.recognizability).toBe(0.5);
  });

  it('orders layers by appearance when there is no layer_index, and models by the given order', () => {
    const rows = [
      ...trials('A', 'zeta', 'deep', undefined, [0]),
      ...trials('A', 'alpha', 'x', undefined, [1]),
      ...trials('A', 'zeta', 'shallow', undefined, [1]),
      ...trials('A', '', 'natural', undefined, [1]),
    ];
    const t = recognizabilityTableFromRows(rows, { bootstrap: 0 });
    expect(t.map((r) => `${r.model}/${r.layer}/${r.layer_index}`)).toEqual(['/natural/0', 'zeta/deep/1', 'zeta/shallow/2', 'alpha/x/1']);
    const ordered = recognizabilityTableFromRows(rows, { bootstrap: 0, modelOrder: ['alpha', 'zeta'] });
    expect(ordered.map((r) => r.model)).toEqual(['', 'alpha', 'zeta', 'zeta']);
  });

  it('rejects contradictory rows with the row number and field', () => {
    expect(() => recognizabilityTableFromRows([{ participant_id: 'A', model: 'm1', layer: 'natural', correct: 1 }])).toThrow(
      /trial row 0: model: must be empty for layer "natural"/,
    );
    expect(() => recognizabilityTableFromRows([{ participant_id: 'A', model: '', layer: 'L1', correct: 1 }])).toThrow(
      /trial row 0: model: is empty/,
    );
    expect(() => recognizabilityTableFromRows([{ participant_id: 'A', model: 'm', layer: 'L1', correct: 2 as 1 }])).toThrow(
      /trial row 0: correct/,
    );
    expect(() =>
      recognizabilityTableFromRows([
        { participant_id: 'A', model: 'm', layer: 'L1', layer_index: 1, correct: 1 },
        { participant_id: 'A', model: 'm', layer: 'L1', layer_index: 2, correct: 1 },
      ]),
    ).toThrow(/trial row 1: layer_index of m\/L1 is 2 here but 1 in earlier trials/);
    expect(() =>
      recognizabilityTableFromRows([
        { participant_id: 'A', model: 'm', layer: 'L1', layer_index: 1, correct: 1 },
        { participant_id: 'A', model: 'm', layer: 'L2', correct: 1 },
      ]),
    ).toThrow(/trial row 1: layer_index is given for some trials but not for others/);
  });

  it('accepts rows shaped like the trial_rows view (extra fields pass through)', () => {
    const t = recognizabilityTableFromRows(
      [
        {
          study_id: 'st',
          participant_id: 'h1',
          session_id: 's',
          session_state: 'completed',
          preview: 0,
          phase: 'main',
          trial_index: 3,
          stimulus_id: 'x',
          source_id: 'y',
          category: 'bear',
          model: '',
          layer: 'natural',
          layer_index: 0,
          response: 'bear',
          correct: 1,
          rt_ms: 500,
          received_at: 1,
          data: '{}',
        } as TrialRowInput,
      ],
      { bootstrap: 0 },
    );
    expect(t).toEqual([expect.objectContaining({ study_id: 'st', recognizability: 1, n_trials: 1 })]);
  });
});

describe('model × layer ANOVA from rows', () => {
  it('enters the natural condition as the first layer level of each model, duplicated', () => {
    // 4 participants × natural + two models with two layers each, 2 trials per cell.
    const pattern: Record<string, number[][]> = {
      // participant → [natural, a/L1, a/L2, b/L1, b/L2] as correct counts out of 2
      p1: [[2], [2], [1], [1], [0]].map((x) => x),
      p2: [[2], [1], [1], [2], [0]],
      p3: [[1], [2], [0], [1], [1]],
      p4: [[2], [2], [2], [0], [0]],
    };
    const conds = [
      ['', 'natural', 0],
      ['a', 'L1', 1],
      ['a', 'L2', 2],
      ['b', 'L1', 1],
      ['b', 'L2', 2],
    ] as const;
    const rows: TrialRowInput[] = [];
    for (const [p, counts] of Object.entries(pattern)) {
      counts.forEach(([k], c) => {
        const [model, layer, idx] = conds[c]!;
        rows.push(...trials(p, model, layer, idx, [k! >= 1 ? 1 : 0, k! >= 2 ? 1 : 0]));
      });
    }
    const [r] = analyzeTrialRows(rows, { bootstrap: 0, permutations: 0, compare: ['a', 'b'] });
    const a = r!.model_layer_anova!;
    expect(a.levels).toEqual(['natural', 'L1', 'L2']);
    expect(a.n_participants).toBe(4);
    // The same design by hand: y[s][model][level] with the natural proportion in both models' level 0.
    const y = new Float64Array(4 * 2 * 3);
    Object.values(pattern).forEach((counts, s) => {
      const prop = counts.map(([k]) => k! / 2);
      y.set([prop[0]!, prop[1]!, prop[2]!, prop[0]!, prop[3]!, prop[4]!], s * 6);
    });
    const direct = rmAnova2(y, 4, 2, 3, ['model', 'layer'], { permutations: 0, seed: 1 });
    expect(a.effects.map((e) => e.effect)).toEqual(direct.effects.map((e) => e.effect));
    a.effects.forEach((e, i) => {
      const d = direct.effects[i]!;
      expect([e.df1, e.df2]).toEqual([d.df1, d.df2]);
      expect(e.ss).toBeCloseTo(d.ss, 12);
      expect(e.ss_error).toBeCloseTo(d.ss_error, 12);
      expect(e.F).toBeCloseTo(d.F, 10);
    });
    expect(() => analyzeTrialRows(rows, { bootstrap: 0, compare: ['a', 'nope'] })).toThrow(/model "nope" has no main trials/);
    expect(() => analyzeTrialRows(rows, { bootstrap: 0, compare: ['a', 'b', 'a'] })).toThrow(/--compare names model "a" twice/);
    // One model: the one-way ANOVA over its levels, natural first.
    const one = analyzeTrialRows(rows, { bootstrap: 0, permutations: 0, compare: ['a'] })[0]!.model_layer_anova!;
    expect(one.design).toBe('one-way');
    expect(one.levels).toEqual(['natural', 'L1', 'L2']);
    expect(one.effects.map((e) => [e.effect, e.df1, e.df2])).toEqual([['layer', 2, 6]]);
  });
});

describe('writers and figure', () => {
  const results = analyzeTrialRows(ROWS, { studyId: 's1', bootstrap: 500, seed: 2, choices: 16, permutations: 0 });

  it('writes the docs/design.md §4 columns to CSV, in order', () => {
    const csv = tableToCsv(results[0]!.table);
    const parsed = parse(csv, { columns: true }) as Record<string, string>[];
    expect(csv.split('\n')[0]).toBe('study_id,model,layer,layer_index,n_participants,n_trials,recognizability,sem,ci_low,ci_high,chance');
    expect(parsed).toHaveLength(3);
    expect(Number(parsed[0]!.recognizability)).toBeCloseTo(5 / 6, 6);
    expect(parsed[0]!.model).toBe('');
    expect(parsed[0]!.chance).toBe('0.0625');
  });

  it('writes JSON without NaN and a Markdown report', () => {
    const json = JSON.parse(resultsToJson(results));
    expect(json.table[0].layer).toBe('natural');
    expect(json.options).toEqual({
      bootstrap: 500,
      bootstrap_trials: false,
      ci_level: 0.95,
      seed: 2,
      permutations: 0,
      permutation_scheme: 'paper',
      choices: 16,
      layers: null,
      drop_layers: null,
      other_model_stimuli: 'all',
    });
    const md = resultToMarkdown(results[0]!);
    expect(md).toMatch(/^# Recognizability: study s1/);
    expect(md).toContain('| study_id | model | layer | layer_index |');
    expect(md).toContain('| s1 |  | natural | 0 | 3 | 8 | 0.8333 |');
  });

  it('draws one line per model with the natural point first, CI bars and the chance line', async () => {
    const rows = [...ROWS, ...trials('A', 'm2', 'L1', 1, [0, 1]), ...trials('B', 'm2', 'L1', 1, [0, 0])];
    const table = recognizabilityTableFromRows(rows, { bootstrap: 300, choices: 16 });
    const spec = recognizabilityFigureSpec(table) as unknown as {
      layer: { data: { values: { model: string; layer: string }[] }; mark: { type: string } }[];
    };
    const line = spec.layer[1]!.data.values;
    expect(line.filter((v) => v.layer === 'natural').map((v) => v.model)).toEqual(['m1', 'm2']);
    expect(spec.layer.map((l) => l.mark.type)).toEqual(['rule', 'line', 'rule']);
    const svg = await recognizabilityFigureSvg(table);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('m1');
    expect(svg).toContain('m2');
    expect(svg).toContain('stroke-dasharray="4,4"');
    expect(svg).toContain('Recognizability (proportion correct)');
  });
});
