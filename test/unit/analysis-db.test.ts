/**
 * The SQLite path end to end, on a real database file: loading a study, exclusions from its
 * config, the table and statistics against expectations computed independently from the trials
 * written, the exports (no raw Prolific ID anywhere), and the same numbers again after a round
 * trip through the exported trials CSV.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCounts } from '../../analysis/analyze.ts';
import { DEFAULT_EXCLUSIONS } from '../../analysis/exclusions.ts';
import { loadTrialsCsv } from '../../analysis/load-trials-csv.ts';
import { psychDsDataFile, psychDsDataset, psychDsZip } from '../../analysis/psych-ds.ts';
import { trialsToCsv, trialsToJson } from '../../analysis/trials-export.ts';
import { TRIAL_COLUMNS } from '../../analysis/trial-row.ts';
import { MEASUREMENT_COLUMNS } from '../../analysis/trial-measurements.ts';
import { loadExportAt, loadStudyAt } from '../support/study-data.ts';
import { createSyntheticStudy, type SyntheticStudy } from '../analysis/synthetic-study.ts';

let dir: string;
let dbFile: string;
let synth: SyntheticStudy;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-db-'));
  dbFile = path.join(dir, 'metamer.db');
  synth = createSyntheticStudy(dbFile, {
    participants: 14,
    mainTrials: 28,
    screenedOut: [1],
    abandoned: [2],
    started: [3],
    inattentive: [4],
    preview: true,
    predictions: true,
    exclusions: { catch_min_accuracy: 0.5 },
  });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Expected per-condition means, computed with plain maps from the trials the fixture wrote. */
function expectedTable(s: SyntheticStudy, included: (pid: string) => boolean) {
  const cells = new Map<string, Map<string, [number, number]>>();
  for (const t of s.trials) {
    if (t.preview || t.phase !== 'main' || !included(t.participant_id)) continue;
    const key = `${t.model}/${t.layer}`;
    const byP = cells.get(key) ?? cells.set(key, new Map()).get(key)!;
    const c = byP.get(t.participant_id) ?? [0, 0];
    c[0] += t.correct;
    c[1] += 1;
    byP.set(t.participant_id, c);
  }
  const out = new Map<string, { mean: number; sd: number; n: number; trials: number }>();
  for (const [key, byP] of cells) {
    const props = [...byP.values()].map(([k, n]) => k / n);
    const mean = props.reduce((a, b) => a + b, 0) / props.length;
    const sd = Math.sqrt(props.reduce((a, b) => a + (b - mean) ** 2, 0) / (props.length - 1));
    out.set(key, { mean, sd, n: props.length, trials: [...byP.values()].reduce((a, [, n]) => a + n, 0) });
  }
  return out;
}

function includedByConfig(s: SyntheticStudy): (pid: string) => boolean {
  // Config: incomplete and screened-out excluded, catch accuracy ≥ 0.5 required.
  const catchAcc = new Map<string, [number, number]>();
  const state = new Map<string, string>();
  for (const t of s.trials) {
    if (t.preview) continue;
    state.set(t.participant_id, t.state);
    if (t.phase !== 'catch') continue;
    const c = catchAcc.get(t.participant_id) ?? [0, 0];
    c[0] += t.correct;
    c[1] += 1;
    catchAcc.set(t.participant_id, c);
  }
  return (pid) => {
    if (state.get(pid) !== 'completed') return false;
    const c = catchAcc.get(pid);
    return !c || c[0] / c[1] >= 0.5;
  };
}

describe('SQLite study loader and analysis', () => {
  it('applies the study config exclusions and reports them', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    expect(s.choices).toBe(synth.categories.length);
    expect(s.exclusions.catch_min_accuracy).toBe(0.5);
    const r = analyzeCounts(s.counts, { exclusions: s.exclusions, choices: s.choices, bootstrap: 500, permutations: 0, statistics: false });
    expect(r.exclusions.participants_total).toBe(14);
    expect(r.exclusions.counts).toEqual({ screened_out: 1, incomplete: 2, flagged: 0, catch_accuracy: 1, natural_accuracy: 0 });
    expect(r.exclusions.participants_included).toBe(10);
    expect(r.exclusions.excluded.map((e) => e.participant_id).sort()).toEqual(['ph00001', 'ph00002', 'ph00003', 'ph00004']);
    expect(r.exclusions.notes.join(' ')).toMatch(/trial\(s\) of experimenter previews were left out/);
  });

  it('computes the table like an independent per-trial computation', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    const r = analyzeCounts(s.counts, {
      exclusions: s.exclusions,
      choices: s.choices,
      bootstrap: 2000,
      seed: 3,
      permutations: 0,
      statistics: false,
    });
    const expected = expectedTable(synth, includedByConfig(synth));
    expect(r.table).toHaveLength(1 + 6);
    expect(r.table.map((row) => `${row.model}/${row.layer}`)).toEqual([
      '/natural',
      'alexnet/relu0',
      'alexnet/relu2',
      'alexnet/final',
      'resnet50/layer1',
      'resnet50/layer4',
      'resnet50/final',
    ]);
    for (const row of r.table) {
      const e = expected.get(`${row.model}/${row.layer}`)!;
      expect(row.n_participants).toBe(e.n);
      expect(row.n_trials).toBe(e.trials);
      expect(row.recognizability).toBeCloseTo(e.mean, 12);
      expect(row.sem).toBeCloseTo(e.sd / Math.sqrt(e.n), 12);
      expect(row.chance).toBe(0.25);
      expect(row.ci_low!).toBeLessThanOrEqual(row.recognizability!);
      expect(row.ci_high!).toBeGreaterThanOrEqual(row.recognizability!);
      expect(row.ci_high! - row.ci_low!).toBeGreaterThan(0);
    }
    // Seeded: the same seed gives the same CIs.
    const again = analyzeCounts(s.counts, {
      exclusions: s.exclusions,
      choices: s.choices,
      bootstrap: 2000,
      seed: 3,
      permutations: 0,
      statistics: false,
    });
    expect(again.table).toEqual(r.table);
  });

  it('CLI overrides of exclusions win over the config', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    const keepAll = analyzeCounts(s.counts, {
      exclusions: { incomplete: false, screened_out: false, flagged: false, catch_min_accuracy: 0, natural_min_accuracy: 0 },
      choices: s.choices,
      bootstrap: 0,
      statistics: false,
    });
    expect(keepAll.exclusions.participants_included).toBe(14);
    // The screened-out participant has no main trials, the partial sessions have half of them.
    const expected = expectedTable(synth, () => true);
    for (const row of keepAll.table) expect(row.recognizability).toBeCloseTo(expected.get(`${row.model}/${row.layer}`)!.mean, 12);
    expect(keepAll.table[0]!.ci_low).toBeNull();
  });

  it('human vs model uses the model predictions on exactly the stimuli each participant saw', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    const r = analyzeCounts(s.counts, { exclusions: s.exclusions, choices: s.choices, bootstrap: 0, permutations: 199, seed: 5 });
    expect(r.human_vs_model.map((h) => h.model)).toEqual(['alexnet', 'resnet50']);
    const included = includedByConfig(synth);
    for (const h of r.human_vs_model) {
      expect(h.levels.map((l) => l.layer)).toEqual(['natural', ...synth.models.find((m) => m.model === h.model)!.layers]);
      for (const level of h.levels) {
        const per = new Map<string, [number, number]>();
        for (const t of synth.trials) {
          if (t.preview || t.phase !== 'main' || !included(t.participant_id)) continue;
          if (level.layer === 'natural' ? t.model !== '' : t.model !== h.model || t.layer !== level.layer) continue;
          const c = per.get(t.participant_id) ?? [0, 0];
          c[0] += synth.predictions.get(t.stimulus_id)!.get(h.model) === t.category ? 1 : 0;
          c[1] += 1;
          per.set(t.participant_id, c);
        }
        const props = [...per.values()].map(([k, n]) => k / n);
        expect(level.network_mean).toBeCloseTo(props.reduce((a, b) => a + b, 0) / props.length, 12);
      }
      expect(h.effects.map((e) => e.effect)).toEqual(['observer', 'layer', 'observer:layer']);
      // The model recognises its own metamers; humans do not at deep layers: a clear interaction.
      expect(h.effects[2]!.p_permutation).toBeLessThan(0.05);
    }
  });

  it('other-model recognizability averages the other models over every metamer of a condition', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    const r = analyzeCounts(s.counts, {
      exclusions: s.exclusions,
      choices: s.choices,
      bootstrap: 0,
      permutations: 99,
      predictions: s.predictions,
      stimuli: s.stimuli,
    });
    const o = r.other_model!;
    expect(o.observers).toEqual(['alexnet', 'resnet50']);
    expect(o.rows).toHaveLength(6);
    for (const row of o.rows) {
      // Two models: "the others" of alexnet's metamers is resnet50 alone, and vice versa.
      const other = row.model === 'alexnet' ? 'resnet50' : 'alexnet';
      let k = 0;
      let n = 0;
      for (const [id, preds] of synth.predictions) {
        if (!id.endsWith(`-${row.model}-${row.layer}`)) continue;
        k += preds.get(other) === synth.categoryOf.get(id) ? 1 : 0;
        n++;
      }
      expect(row.n_stimuli).toBe(n);
      expect(row.n_observers).toBe(1);
      expect(row.other_model_recognizability).toBeCloseTo(k / n, 12);
      expect(row.human_recognizability).toBe(r.table.find((t) => t.model === row.model && t.layer === row.layer)!.recognizability);
    }
    expect(o.spearman!.n).toBe(6);
    expect(o.spearman!.rho).toBeGreaterThanOrEqual(-1);
  });

  it('names a missing study and a missing database', async () => {
    await expect(loadStudyAt(dbFile, 'nope')).rejects.toThrow(/study "nope" is not in .*metamer\.db \(studies: synth\)/);
    await expect(loadStudyAt(path.join(dir, 'absent.db'), 'synth')).rejects.toThrow(/absent\.db does not exist/);
  });
});

describe('exports', () => {
  it('carries the contract columns, keyed participant ids and never a raw Prolific ID', async () => {
    const exp = await loadExportAt(dbFile, synth.studyId);
    expect(exp.columns.slice(0, 13).map((c) => c.name)).toEqual([
      'participant_id',
      'session_id',
      'phase',
      'trial_index',
      'stimulus_id',
      'source_id',
      'category',
      'model',
      'layer',
      'layer_index',
      'response',
      'correct',
      'rt_ms',
    ]);
    const columns = [...TRIAL_COLUMNS, ...MEASUREMENT_COLUMNS].map((c) => c.name);
    expect(exp.columns.map((c) => c.name)).toEqual([...columns, 'prediction_alexnet', 'prediction_resnet50']);
    expect(exp.rows).toHaveLength(synth.trials.filter((t) => !t.preview).length);
    const csv = trialsToCsv(exp);
    const json = trialsToJson(exp);
    const dataset = psychDsDataset(exp, new Date('2026-02-03T04:05:06Z'));
    const zip = psychDsZip(dataset, 'study-synth');
    const unzipped = unzipSync(zip);
    const everything = [csv, json, ...Object.values(dataset), ...Object.values(unzipped).map((b) => strFromU8(b))].join('\n');
    expect(everything).not.toMatch(/PROLIFIC-SECRET/);
    expect(csv.split('\n')[0]).toBe(exp.columns.map((c) => c.name).join(','));
    const first = exp.rows[0]!;
    expect(first.participant_id).toMatch(/^ph\d{5}$/);
    expect(first.received_at).toMatch(/^2026-01-01T00:00:\d\d\.\d{3}Z$/);
    const metamer = exp.rows.find((r) => r.model === 'alexnet')!;
    expect(metamer.model_prediction).toBe(synth.predictions.get(metamer.stimulus_id as string)!.get('alexnet'));
  });

  it('writes a Psych-DS dataset whose variableMeasured describes every column', async () => {
    const exp = await loadExportAt(dbFile, synth.studyId);
    const files = psychDsDataset(exp, new Date('2026-02-03T04:05:06Z'));
    const dataFile = psychDsDataFile(exp.study_id);
    expect(Object.keys(files).sort()).toEqual(['data/study-synth_data.csv', 'dataset_description.json']);
    expect(path.basename(dataFile)).toMatch(/^([a-z]+-[a-zA-Z0-9]+)(_[a-z]+-[a-zA-Z0-9]+)*_data\.csv$/);
    const desc = JSON.parse(files['dataset_description.json']!);
    expect(desc['@context']).toBe('https://schema.org');
    expect(desc['@type']).toBe('Dataset');
    expect(desc.schemaVersion).toBe('Psych-DS 0.4.0');
    expect(typeof desc.name).toBe('string');
    expect(desc.description).toMatch(/keyed hashes/);
    const header = files[dataFile]!.split('\n')[0]!.split(',');
    expect(desc.variableMeasured.map((v: { name: string }) => v.name)).toEqual(header);
    for (const v of desc.variableMeasured) {
      expect(v['@type']).toBe('PropertyValue');
      expect(v.description.length).toBeGreaterThan(10);
    }
    expect(psychDsDataFile('vision-exp.1_b')).toBe('data/study-visionexp1b_data.csv');
    const unzipped = unzipSync(psychDsZip(files, 'study-synth'));
    expect(Object.keys(unzipped).sort()).toEqual(['study-synth/data/study-synth_data.csv', 'study-synth/dataset_description.json']);
    expect(strFromU8(unzipped['study-synth/data/study-synth_data.csv']!)).toBe(files[dataFile]);
  });

  it('the exported trials CSV analyses to the same numbers as the database', async () => {
    const s = await loadStudyAt(dbFile, synth.studyId);
    const exp = await loadExportAt(dbFile, synth.studyId);
    const csvFile = path.join(dir, 'synth-trials.csv');
    fs.writeFileSync(csvFile, trialsToCsv(exp));
    const [fromCsv] = await loadTrialsCsv(csvFile);
    const opts = { exclusions: s.exclusions, choices: s.choices, bootstrap: 1000, seed: 8, permutations: 99 };
    const a = analyzeCounts(s.counts, opts);
    const b = analyzeCounts(fromCsv!.counts, opts);
    expect(fromCsv!.counts.study_id).toBe('synth');
    expect(b.table).toEqual(a.table);
    expect(b.exclusions.counts).toEqual({ ...a.exclusions.counts });
    expect(b.human_vs_model).toEqual(a.human_vs_model);
    expect(DEFAULT_EXCLUSIONS.incomplete).toBe(true);
  });
});
