/**
 * Acceptance (issue 12): from the public per-participant data of Feather et al. 2023 rebuilt to
 * trials (analysis/reference/feather2023.ts), the statistics reproduce the authors' own printouts
 * (test/fixtures/feather2023-printouts.ts, each with its file name): model comparisons (vision and
 * audio, two to four models), the one-way layer ANOVAs of HMAX and the spectro-temporal model, and
 * the human-vs-network ANOVAs of three experiments.
 *
 * Tolerances:
 * - F, partial η², p and the GG/HF/LB-corrected p: 1e-4 relative. MATLAB prints 5 significant
 *   digits, so rounding alone is up to 5e-5 relative; the rebuilt proportions are the published
 *   ones exactly (k/n === p), so nothing else separates the numbers.
 * - Permutation p (N = 10,000 on both sides): |p − p_paper| ≤ 4 · √(2 p̄ (1 − p̄) / N) + 2/N,
 *   p̄ the mean of the two. Each estimate is a binomial proportion with standard error
 *   √(p (1 − p) / N), their difference (independent shuffles) √2 times that; 4 standard errors
 *   make a false alarm about 1 in 16,000 per comparison (about 1 in 300 over the ~50 here, and the
 *   seed is fixed, so the outcome does not change from run to run); 2/N covers the 1/N floor of
 *   the authors' convention. The restricted scheme falls outside this band for the examples of
 *   the issue, so the band tells the schemes apart.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../analysis/analyze.ts';
import { applyExclusions, DEFAULT_EXCLUSIONS } from '../../analysis/exclusions.ts';
import { chooseLevels } from '../../analysis/level-choice.ts';
import { loadTrialsCsv } from '../../analysis/load-trials-csv.ts';
import { humanVsModel, modelLayerAnova } from '../../analysis/paper-statistics.ts';
import type { PermutationScheme } from '../../analysis/permutation.ts';
import { readLongCsv, rebuildFeather2023, writeRebuilt } from '../../analysis/reference/feather2023.ts';
import type { StudyCounts } from '../../analysis/study-counts.ts';
import type { AnovaEffect } from '../../analysis/anova-effect.ts';
import { loadTidyDesign } from '../../analysis/anova-tidy.ts';
import { rmAnovaTable } from '../../analysis/rm-design.ts';
import {
  FEATHER2023_ADV_EVAL_PRINTOUT,
  FEATHER2023_PRINTOUTS,
  type Printout,
  type PrintoutEffect,
} from '../fixtures/feather2023-printouts.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const N = 10_000;
let dir: string;
const studies = new Map<string, StudyCounts>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feather2023-printouts-'));
  const wanted = new Set(FEATHER2023_PRINTOUTS.map((p) => p.study));
  const files = writeRebuilt(
    dir,
    rebuildFeather2023(readLongCsv()).filter((e) => wanted.has(e.study_id)),
  );
  for (const file of files) for (const s of await loadTrialsCsv(file)) studies.set(s.counts.study_id, s.counts);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function closeRelative(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-4 * Math.abs(expected));
}

function permutationTolerance(p: number, pPaper: number, permutations = N): number {
  const mean = Math.min(Math.max((p + pPaper) / 2, 1 / permutations), 1 - 1 / permutations);
  return 4 * Math.sqrt((2 * mean * (1 - mean)) / permutations) + 2 / permutations;
}

/** Our effects for a printout, computed by the library from the rebuilt trials. */
function effectsFor(p: Printout, scheme: PermutationScheme = 'paper'): AnovaEffect[] {
  const all = studies.get(p.study)!;
  const { included } = applyExclusions(all, DEFAULT_EXCLUSIONS);
  const opts = { permutations: N, seed: 1, scheme };
  if (p.kind === 'human-vs-network') {
    // Only this model's levels, so that the other models of the experiment are not tested too.
    const model = p.models[0]!;
    const layers = ['natural', ...all.conditions.filter((c) => c.model === model).map((c) => `${model}/${c.layer}`)];
    const counts = chooseLevels(all, { layers, dropLayers: p.drop_layers });
    const [h] = humanVsModel(counts, included, opts);
    expect(h!.model).toBe(model);
    return h!.effects;
  }
  const counts = chooseLevels(all, { dropLayers: p.drop_layers });
  const a = modelLayerAnova(counts, included, p.models, opts);
  expect(a.design).toBe(p.kind === 'one-way' ? 'one-way' : 'two-way');
  return a.effects;
}

function expectPrintout(p: Printout, effects: readonly AnovaEffect[]): void {
  expect(effects.map((e) => e.effect).sort()).toEqual(Object.keys(p.effects).sort());
  for (const [name, want] of Object.entries(p.effects) as [string, PrintoutEffect][]) {
    const got = effects.find((e) => e.effect === name)!;
    const what = `${p.file} ${p.models.join(',')} ${name}`;
    expect([got.df1, got.df2], what).toEqual([want.df1, want.df2]);
    closeRelative(got.F, want.F, `${what} F`);
    closeRelative(got.partial_eta2, want.partial_eta2, `${what} partial η²`);
    closeRelative(got.p_parametric, want.p, `${what} p`);
    closeRelative(got.p_gg, want.p_gg, `${what} p GG`);
    closeRelative(got.p_hf, want.p_hf, `${what} p HF`);
    closeRelative(got.p_lb, want.p_lb, `${what} p LB`);
    if (want.p_permutation !== undefined) {
      const tol = permutationTolerance(got.p_permutation!, want.p_permutation);
      expect(
        Math.abs(got.p_permutation! - want.p_permutation),
        `${what} permutation p ${got.p_permutation} vs ${want.p_permutation} (± ${tol})`,
      ).toBeLessThanOrEqual(tol);
    }
  }
}

describe('Feather et al. 2023 printouts reproduced from the public data', () => {
  it('covers at least two vision and two audio model comparisons, human vs network, and the HMAX one-way ANOVA', () => {
    const kinds = FEATHER2023_PRINTOUTS.map((p) => `${p.study.split('-')[0]} ${p.kind}`);
    expect(kinds.filter((k) => k === 'vision model-comparison').length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k === 'audio model-comparison').length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k.endsWith('human-vs-network')).length).toBeGreaterThanOrEqual(1);
    expect(FEATHER2023_PRINTOUTS.some((p) => p.kind === 'one-way' && p.models[0] === 'hmax_standard')).toBe(true);
  });

  for (const p of FEATHER2023_PRINTOUTS) {
    it(`${p.kind}: ${p.models.join(' vs ')} (${p.file})`, () => {
      expectPrintout(p, effectsFor(p));
    });
  }

  it('the restricted scheme misses the published interaction p-values the issue names (the band has teeth)', () => {
    const named: [string, string][] = [
      ['EXP3_ANALYSIS-linf_random_vs_standard_resnet50-N_10000-ANOVA_HUMAN_RESULTS.txt', 'model:layer'],
      ['EXPERIMENT_8-l2_1_adversarial_waveform_vs_l2_1_adversarial_cochleagram_kell2018-N_10000-ANOVA_HUMAN_RESULTS.txt', 'model:layer'],
    ];
    for (const [file, effect] of named) {
      const p = FEATHER2023_PRINTOUTS.find((x) => x.file === file)!;
      const restricted = effectsFor(p, 'restricted').find((e) => e.effect === effect)!.p_permutation!;
      const paper = effectsFor(p).find((e) => e.effect === effect)!.p_permutation!;
      const published = p.effects[effect]!.p_permutation!;
      expect(Math.abs(restricted - published), file).toBeGreaterThan(permutationTolerance(restricted, published));
      expect(Math.abs(paper - published), file).toBeLessThanOrEqual(permutationTolerance(paper, published));
      // Restricted permutations keep the layer structure, so their interaction p is the larger one.
      expect(restricted).toBeGreaterThan(paper);
    }
  });

  it('metamer analyze runs the HMAX one-way ANOVA from a trials CSV, final layer dropped, and names the scheme', () => {
    const p = FEATHER2023_PRINTOUTS.find((x) => x.kind === 'one-way' && x.models[0] === 'hmax_standard')!;
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'bin/metamer.js'),
        'analyze',
        '--trials',
        path.join(dir, 'vision-exp6.csv'),
        '--choices',
        '16',
        '--bootstrap',
        '0',
        '--compare',
        'hmax_standard',
        '--drop-layers',
        'final',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as AnalysisResult;
    const a = out.model_layer_anova!;
    expect(a.design).toBe('one-way');
    expect(a.levels).toEqual(['natural', 's1_out', 'c1_out_no_reshape', 's2_out_reshape_to_list', 'c2_out']);
    expect(out.table.map((t) => t.layer)).not.toContain('final');
    expect(out.options.permutation_scheme).toBe('paper');
    expect(a.permutation_procedure).toMatch(/run_permutation_significance_test_layer_effect_human\.m/);
    expect(a.sphericity[0]!.effect).toBe('layer');
    expect(a.sphericity[0]!.W).toBeGreaterThan(0);
    expectPrintout(p, a.effects);
  }, 60_000);
});

/** Exact permutation p of a two-model main effect: every sign flip of the layer-averaged differences. */
function exactTwoModelP(counts: StudyCounts, models: readonly string[]): { greater: number; atLeast: number } {
  const C = counts.conditions.length;
  const cols = models.map((m) => counts.conditions.flatMap((c, i) => (c.model === m || c.model === '' ? [i] : [])));
  const d = counts.participants.map((_, p) => {
    const mean = (cs: number[]) => cs.reduce((s, c) => s + counts.correct[p * C + c]! / counts.total[p * C + c]!, 0) / cs.length;
    return mean(cols[0]!) - mean(cols[1]!);
  });
  // With Σd² fixed by a sign flip, the model F grows with |Σd|: count the flips at least as extreme.
  let sum = d.reduce((a, b) => a + b, 0);
  const observed = Math.abs(sum);
  const signs = d.map(() => 1);
  let greater = 0;
  let atLeast = 0;
  const total = 2 ** d.length;
  for (let k = 0; k < total; k++) {
    if (k > 0) {
      // Gray code: flip the sign of the lowest set bit's participant.
      const j = Math.log2(k & -k);
      signs[j] = -signs[j]!;
      sum += 2 * signs[j]! * d[j]!;
    }
    const s = Math.abs(sum);
    if (s > observed * (1 + 1e-9)) greater++;
    if (s >= observed * (1 - 1e-9)) atLeast++;
  }
  return { greater: greater / total, atLeast: atLeast / total };
}

describe('the authors’ p convention for ties (exact enumeration)', () => {
  it('on the human data, counting ties (≥) or not (>) moves the two-model main-effect p by at most 0.0012', () => {
    const pairs = FEATHER2023_PRINTOUTS.filter((p) => p.kind === 'model-comparison' && p.models.length === 2);
    expect(pairs.length).toBeGreaterThanOrEqual(8);
    for (const p of pairs) {
      const { greater, atLeast } = exactTwoModelP(studies.get(p.study)!, p.models);
      expect(atLeast - greater, p.file).toBeLessThanOrEqual(0.0012);
      // The printed p is the Monte-Carlo estimate of this exact value.
      const printed = p.effects.model!.p_permutation!;
      expect(Math.abs(printed - atLeast), p.file).toBeLessThanOrEqual(permutationTolerance(atLeast, printed));
    }
  });

  it('the adversarial-evaluation printout (accuracies k/1024, many ties) counted them: its network p matches ≥, not >', async () => {
    const exact = { l1: [0.873, 0.905], linf: [0.063, 0.095] } as const;
    for (const attack of ['l1', 'linf'] as const) {
      const data = path.join(ROOT, `test/fixtures/feather2023-exp9-adv-eval-${attack}.csv`);
      const { design } = await loadTidyDesign(data, { subject: 'run', within: ['eps'], dv: 'accuracy', between: 'network' });
      const F = (group: Int32Array) => rmAnovaTable({ ...design, between: { ...design.between!, group } }).effects[0]!.F;
      const observed = F(design.between!.group);
      let greater = 0;
      let atLeast = 0;
      let splits = 0;
      for (let mask = 0; mask < 1 << 10; mask++) {
        const group = Int32Array.from({ length: 10 }, (_, s) => (mask >> s) & 1);
        if (group.reduce((a, b) => a + b, 0) !== 5) continue;
        splits++;
        const f = F(group);
        if (f > observed * (1 + 1e-9)) greater++;
        if (f >= observed * (1 - 1e-9)) atLeast++;
      }
      expect(splits).toBe(252);
      expect(greater / splits).toBeCloseTo(exact[attack][0], 3);
      expect(atLeast / splits).toBeCloseTo(exact[attack][1], 3);
      const printed = FEATHER2023_ADV_EVAL_PRINTOUT.attacks[attack].network.p_permutation;
      expect(Math.abs(printed - atLeast / splits)).toBeLessThanOrEqual(permutationTolerance(atLeast / splits, printed));
      expect(Math.abs(printed - greater / splits)).toBeGreaterThan(permutationTolerance(greater / splits, printed));
    }
  });
});
