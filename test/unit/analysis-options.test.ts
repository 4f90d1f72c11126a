/**
 * Issue 12's options of `metamer analyze`, as a user runs them against a real database file:
 * level choice (--layers, --drop-layers, the study config's `analysis` block), the refusal of a
 * model named twice, the permutation scheme in the output, the sphericity blocks, and other-model
 * recognizability over every stimulus of a condition or only those in trials, with Pearson R² and
 * Kendall τ beside Spearman ρ.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../analysis/analyze.ts';
import { correlations, kendallTauB } from '../../analysis/correlations.ts';
import { chooseLevels } from '../../analysis/level-choice.ts';
import { createSyntheticStudy, type SyntheticStudy } from '../analysis/synthetic-study.ts';
import { loadStudyAt } from '../support/study-data.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let dbFile: string;
let synth: SyntheticStudy;
// Each test runs the CLI a few times (a process start each); generous for a busy machine.
const CLI_TIMEOUT = 180_000;

function metamer(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/metamer.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, METAMER_DB: dbFile },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function analyzeJson(args: string[]): AnalysisResult {
  const r = metamer(['analyze', 'synth', '--json', '--bootstrap', '0', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as AnalysisResult;
}

function setAnalysisConfig(analysis: unknown): void {
  const db = new Database(dbFile);
  db.prepare(`UPDATE studies SET config = json_set(config, '$.analysis', json(?)) WHERE id = 'synth'`).run(JSON.stringify(analysis));
  db.close();
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-options-'));
  dbFile = path.join(dir, 'metamer.db');
  // Few participants: many metamers of the set are never shown, so "all" and "trials" differ.
  synth = createSyntheticStudy(dbFile, { participants: 4, mainTrials: 28, predictions: true, preview: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('level choice', () => {
  it('keeps or drops levels by layer, model/layer or natural, and names an unknown level and its option', async () => {
    const { counts } = await loadStudyAt(dbFile, 'synth');
    const labels = (c: typeof counts) => c.conditions.map((x) => (x.model ? `${x.model}/${x.layer}` : x.layer));
    expect(labels(chooseLevels(counts, { dropLayers: ['final'] }))).toEqual([
      'natural',
      'alexnet/relu0',
      'alexnet/relu2',
      'resnet50/layer1',
      'resnet50/layer4',
    ]);
    expect(labels(chooseLevels(counts, { dropLayers: ['resnet50/final', 'natural'] }))).toEqual([
      'alexnet/relu0',
      'alexnet/relu2',
      'alexnet/final',
      'resnet50/layer1',
      'resnet50/layer4',
    ]);
    expect(labels(chooseLevels(counts, { layers: ['natural', 'relu2', 'resnet50/layer4'] }))).toEqual([
      'natural',
      'alexnet/relu2',
      'resnet50/layer4',
    ]);
    const kept = chooseLevels(counts, { layers: ['relu2'] });
    // The counts of a kept level are its counts in the full study.
    const from = counts.conditions.findIndex((c) => c.layer === 'relu2');
    for (let p = 0; p < counts.participants.length; p++) expect(kept.total[p]).toBe(counts.total[p * counts.conditions.length + from]);
    expect(() => chooseLevels(counts, { layers: ['fc9'] })).toThrow(
      /^--layers: "fc9" names no level of study synth \(levels: natural, relu0, relu2, final, layer1, layer4; or model\/layer\)$/,
    );
    expect(() => chooseLevels(counts, { layers: ['relu0'], dropLayers: ['relu0'] })).toThrow(/leave no level/);
  });

  it(
    '--drop-layers and --layers narrow the table and the ANOVA; the one-way ANOVA runs over one model',
    () => {
      const r = analyzeJson(['--permutations', '200', '--compare', 'alexnet', '--drop-layers', 'final']);
      expect(r.table.map((t) => t.layer)).toEqual(['natural', 'relu0', 'relu2', 'layer1', 'layer4']);
      expect(r.options.drop_layers).toEqual(['final']);
      const a = r.model_layer_anova!;
      expect(a.design).toBe('one-way');
      expect(a.levels).toEqual(['natural', 'relu0', 'relu2']);
      expect(a.effects.map((e) => [e.effect, e.df1])).toEqual([['layer', 2]]);
      expect(a.sphericity.map((m) => m.effect)).toEqual(['layer']);
      // Human vs model follows the chosen levels too.
      expect(r.human_vs_model.every((h) => h.levels.every((l) => l.layer !== 'final'))).toBe(true);
      const only = analyzeJson(['--permutations', '0', '--layers', 'natural,relu2,layer4']);
      expect(only.table.map((t) => t.layer)).toEqual(['natural', 'relu2', 'layer4']);
    },
    CLI_TIMEOUT,
  );

  it(
    'the study config’s analysis block chooses levels; the command line wins over it; a bad block is named',
    () => {
      setAnalysisConfig({ drop_layers: ['final', 'relu0'] });
      try {
        expect(analyzeJson(['--permutations', '0']).table.map((t) => t.layer)).toEqual(['natural', 'relu2', 'layer1', 'layer4']);
        expect(analyzeJson(['--permutations', '0', '--drop-layers', 'natural']).table.map((t) => t.layer)).toEqual([
          'relu0',
          'relu2',
          'final',
          'layer1',
          'layer4',
          'final',
        ]);
        setAnalysisConfig({ drop_layers: ['fc9'] });
        const bad = metamer(['analyze', 'synth', '--bootstrap', '0', '--permutations', '0']);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toBe(
          'metamer: study config analysis.drop_layers: "fc9" names no level of study synth ' +
            '(levels: natural, relu0, relu2, final, layer1, layer4; or model/layer)\n',
        );
        setAnalysisConfig({ drop_layer: ['final'] });
        const typo = metamer(['analyze', 'synth', '--bootstrap', '0', '--permutations', '0']);
        expect(typo.code).toBe(1);
        expect(typo.stderr).toBe('metamer: study "synth" config: analysis: Unrecognized key: "drop_layer"\n');
      } finally {
        setAnalysisConfig({});
      }
    },
    CLI_TIMEOUT,
  );
});

describe('ANOVA output', () => {
  it(
    'refuses a model named twice in --compare: exit 1, one line',
    () => {
      const r = metamer(['analyze', 'synth', '--compare', 'alexnet,alexnet', '--bootstrap', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('metamer: --compare names model "alexnet" twice; list each model once\n');
      expect(r.stdout).toBe('');
    },
    CLI_TIMEOUT,
  );

  it(
    'names the permutation scheme and carries sphericity fields in JSON and Markdown',
    () => {
      const r = analyzeJson(['--permutations', '300', '--compare', 'all', '--drop-layers', 'natural']);
      const a = r.model_layer_anova!;
      expect(r.options.permutation_scheme).toBe('paper');
      expect(a.permutation_scheme).toBe('paper');
      expect(a.permutation_procedure).toMatch(
        /^paper: Feather et al\. 2023, matlab_statistics_functions\/run_permutation_network_types\.m/,
      );
      for (const e of a.effects) {
        for (const k of ['epsilon_gg', 'epsilon_hf', 'p_gg', 'p_hf', 'p_lb'] as const)
          expect(typeof e[k], `${e.effect} ${k}`).toBe('number');
        expect(e.permutation_null).toMatch(/shuffled within each subject/);
        // ε: lower bound 1/df ≤ Greenhouse–Geisser ≤ 1, Huynh–Feldt ≤ 1.
        expect(e.epsilon_gg).toBeGreaterThanOrEqual(1 / e.df1 - 1e-12);
        expect(e.epsilon_gg).toBeLessThanOrEqual(1);
        expect(e.epsilon_hf).toBeLessThanOrEqual(1);
      }
      expect(a.sphericity.map((m) => m.effect)).toEqual(['model', 'layer', 'model:layer']);
      expect(r.human_vs_model[0]!.permutation_procedure).toMatch(/run_permutation_significance_test_network_human\.m/);

      const md = metamer([
        'analyze',
        'synth',
        '--bootstrap',
        '0',
        '--permutations',
        '300',
        '--compare',
        'all',
        '--permutation-scheme',
        'restricted',
      ]);
      expect(md.code).toBe(0);
      expect(md.stdout).toContain("Permutation scheme: restricted: only what the tested effect's null makes exchangeable");
      expect(md.stdout).toContain('| effect | df | F | partial η² | p (permutation) | p (F) | ε GG | ε HF | p GG | p HF | p LB |');
      expect(md.stdout).toContain("Mauchly's test of sphericity:");
      expect(md.stdout).toContain('- model: model levels shuffled within each subject × layer cell.');
    },
    CLI_TIMEOUT,
  );
});

describe('other-model recognizability', () => {
  it(
    'scores every stimulus of a condition by default and only those shown in main trials with --other-model-stimuli trials',
    () => {
      const all = analyzeJson(['--permutations', '200']).other_model!;
      const trials = analyzeJson(['--permutations', '200', '--other-model-stimuli', 'trials']).other_model!;
      expect(all.stimuli).toBe('all');
      expect(trials.stimuli).toBe('trials');
      for (const row of all.rows) expect(row.n_stimuli).toBe(28);
      let fewer = 0;
      for (const row of trials.rows) {
        const shown = new Set(
          synth.trials
            .filter((t) => !t.preview && t.phase === 'main' && t.model === row.model && t.layer === row.layer)
            .map((t) => t.stimulus_id),
        );
        expect(row.n_stimuli).toBe(shown.size);
        const other = row.model === 'alexnet' ? 'resnet50' : 'alexnet';
        const k = [...shown].filter((id) => synth.predictions.get(id)!.get(other) === synth.categoryOf.get(id)).length;
        expect(row.other_model_recognizability).toBeCloseTo(k / shown.size, 12);
        if (shown.size < 28) fewer++;
      }
      expect(fewer).toBeGreaterThan(0);
      for (const o of [all, trials]) {
        expect(o.pearson!.r2).toBeCloseTo(o.pearson!.r ** 2, 14);
        expect(Math.abs(o.kendall!.tau_b)).toBeLessThanOrEqual(1);
        expect(o.kendall!.n).toBe(6);
      }
    },
    CLI_TIMEOUT,
  );

  it(
    'with a trials CSV, a predictions file that describes its stimuli scores unseen stimuli too',
    () => {
      const trialsCsv = path.join(dir, 'om-trials.csv');
      const predsCsv = path.join(dir, 'om-preds.csv');
      const rows = ['participant_id,stimulus_id,category,model,layer,layer_index,correct'];
      const preds = ['stimulus_id,observer_model,predicted_category,category,model,layer'];
      // Three conditions of model m; each has one stimulus seen (s…-0) and one nobody saw (s…-1).
      ['L1', 'L2', 'L3'].forEach((layer, i) => {
        rows.push(`p1,${layer}-0,cat,m,${layer},${i + 1},${i === 0 ? 1 : 0}`, `p2,${layer}-0,cat,m,${layer},${i + 1},${i < 2 ? 1 : 0}`);
        preds.push(`${layer}-0,other,cat,cat,m,${layer}`, `${layer}-1,other,${i === 2 ? 'cat' : 'dog'},cat,m,${layer}`);
      });
      fs.writeFileSync(trialsCsv, `${rows.join('\n')}\n`);
      fs.writeFileSync(predsCsv, `${preds.join('\n')}\n`);
      const run = (extra: string[]) => {
        const r = metamer([
          'analyze',
          '--trials',
          trialsCsv,
          '--predictions',
          predsCsv,
          '--json',
          '--bootstrap',
          '0',
          '--permutations',
          '0',
          ...extra,
        ]);
        expect(r.stderr).toBe('');
        return (JSON.parse(r.stdout) as AnalysisResult).other_model!;
      };
      expect(run([]).rows.map((r) => [r.layer, r.n_stimuli, r.other_model_recognizability])).toEqual([
        ['L1', 2, 0.5],
        ['L2', 2, 0.5],
        ['L3', 2, 1],
      ]);
      expect(run(['--other-model-stimuli', 'trials']).rows.map((r) => [r.layer, r.n_stimuli, r.other_model_recognizability])).toEqual([
        ['L1', 1, 1],
        ['L2', 1, 1],
        ['L3', 1, 1],
      ]);
      fs.writeFileSync(predsCsv, 'stimulus_id,observer_model,predicted_category,category,layer\nL1-1,other,cat,cat,L1\n');
      const bad = metamer(['analyze', '--trials', trialsCsv, '--predictions', predsCsv, '--bootstrap', '0']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe(`metamer: ${predsCsv}: line 2, column "model": must name the generating model of a metamer\n`);
    },
    CLI_TIMEOUT,
  );

  it('Pearson, Spearman and Kendall agree with hand-worked values', () => {
    // Kendall τ_b with a tie in x: 5 concordant, 0 discordant, 6 pairs, 1 tied in x.
    expect(kendallTauB([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(5 / Math.sqrt(5 * 6), 14);
    expect(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    const c = correlations([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], { permutations: 20_000, seed: 3 });
    expect(c.pearson.r).toBeCloseTo(0.8, 12);
    expect(c.pearson.r2).toBeCloseTo(0.64, 12);
    expect(c.spearman.rho).toBeCloseTo(0.8, 12);
    expect(c.kendall.tau_b).toBeCloseTo(0.6, 12);
    // Exact two-sided p over the 120 orderings: 16 have |ρ| ≥ 0.8; 28 have |τ| ≥ 0.6 (at most two
    // inversions, 1 + 4 + 9 orderings, or at most two non-inversions).
    expect(Math.abs(c.spearman.p_permutation! - 16 / 120)).toBeLessThan(0.01);
    expect(Math.abs(c.kendall.p_permutation! - 28 / 120)).toBeLessThan(0.012);
  });
});
