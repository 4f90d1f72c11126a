/**
 * Acceptance (issue 4): trial-level CSVs rebuilt from Feather et al. 2023's public per-participant
 * proportions, analysed by the CLI, give back every published human mean (and the network means
 * and SEMs) of metamer_summary_by_model_layer.csv.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../analysis/analyze.ts';
import { denominatorOf, readLongCsv, rebuildFeather2023, SUMMARY_CSV, writeRebuilt } from '../../analysis/reference/feather2023.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface SummaryRow {
  modality: string;
  repo_experiment_number: string;
  model: string;
  layer_index: string;
  layer: string;
  n_participants: string;
  human_mean: string;
  human_sem: string;
  network_mean: string;
}

let dir: string;
let results: AnalysisResult[];
let files: string[];

function analyze(csvFiles: string[], choices: number): AnalysisResult[] {
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'bin/metamer.js'),
      'analyze',
      '--trials',
      ...csvFiles,
      '--choices',
      String(choices),
      '--format',
      'json',
      '--permutations',
      '1000',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`metamer analyze failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as AnalysisResult | AnalysisResult[];
  return Array.isArray(out) ? out : [out];
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feather2023-'));
  files = writeRebuilt(dir, rebuildFeather2023(readLongCsv()));
  results = [
    ...analyze(
      files.filter((f) => path.basename(f).startsWith('vision')),
      16,
    ),
    ...analyze(
      files.filter((f) => path.basename(f).startsWith('audio')),
      793,
    ),
  ];
}, 300_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Feather et al. 2023 rebuilt from the published proportions', () => {
  it('finds the exact fraction behind a proportion', () => {
    expect(denominatorOf(0.8695652173913043)).toBe(23); // 20/23
    expect(denominatorOf(0.5)).toBe(2);
    expect(denominatorOf(1)).toBe(1);
    expect(() => denominatorOf(Math.PI / 4)).toThrow(/not k\/n/);
  });

  it('writes one trials CSV per experiment, with k/n equal to each published proportion', () => {
    expect(files.map((f) => path.basename(f)).sort()).toEqual(
      [
        'audio-exp1',
        'audio-exp3',
        'audio-exp4',
        'audio-exp6',
        'audio-exp7',
        'audio-exp8',
        'vision-exp1',
        'vision-exp10',
        'vision-exp12',
        'vision-exp16',
        'vision-exp3',
        'vision-exp4',
        'vision-exp5',
        'vision-exp6',
        'vision-exp9',
      ]
        .map((s) => `${s}.csv`)
        .sort(),
    );
    // Each participant saw roughly 400 main trials, as in the paper.
    const rows = parse(fs.readFileSync(path.join(dir, 'vision-exp1.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const perParticipant = new Map<string, number>();
    for (const r of rows) perParticipant.set(r.participant_id!, (perParticipant.get(r.participant_id!) ?? 0) + 1);
    for (const n of perParticipant.values()) expect(n).toBeGreaterThan(300);
    for (const n of perParticipant.values()) expect(n).toBeLessThan(500);
  });

  it('reproduces every published human mean to 1e-3 (and n, SEM and network means)', () => {
    const summary = parse(fs.readFileSync(SUMMARY_CSV, 'utf8'), { columns: true }) as SummaryRow[];
    expect(summary).toHaveLength(520);
    let worstMean = 0;
    for (const s of summary) {
      const study = `${s.modality}-exp${s.repo_experiment_number}`;
      const result = results.find((r) => r.study_id === study);
      expect(result, study).toBeDefined();
      const natural = s.layer_index === '0';
      const row = result!.table.find((t) => (natural ? t.model === '' : t.model === s.model && t.layer === s.layer));
      expect(row, `${study} ${s.model} ${s.layer}`).toBeDefined();
      expect(row!.layer_index).toBe(Number(s.layer_index));
      expect(row!.n_participants).toBe(Number(s.n_participants));
      const diff = Math.abs(row!.recognizability! - Number(s.human_mean));
      worstMean = Math.max(worstMean, diff);
      expect(diff, `${study} ${s.model} ${s.layer}`).toBeLessThanOrEqual(1e-3);
      // The summary's SEM uses the population SD (README); ours the sample SD (docs/design.md §4).
      const n = row!.n_participants;
      expect(Math.abs(row!.sem! * Math.sqrt((n - 1) / n) - Number(s.human_sem))).toBeLessThanOrEqual(1e-3);
      expect(row!.chance).toBeCloseTo(s.modality === 'vision' ? 1 / 16 : 1 / 793, 12);
      expect(row!.ci_low!).toBeLessThanOrEqual(row!.recognizability!);
      expect(row!.ci_high!).toBeGreaterThanOrEqual(row!.recognizability!);
      // The generating model on the same stimuli (human vs model).
      const hvm = result!.human_vs_model.find((h) => h.model === s.model);
      const level = hvm?.levels.find((l) => (natural ? l.layer === 'natural' : l.layer === s.layer));
      expect(level, `${study} ${s.model} ${s.layer} network`).toBeDefined();
      expect(Math.abs(level!.network_mean - Number(s.network_mean))).toBeLessThanOrEqual(1e-3);
    }
    // The summary is rounded to 4 decimals; the rebuilt trials reproduce it up to that rounding.
    expect(worstMean).toBeLessThanOrEqual(5.0001e-5);
  });
});
