/**
 * `metamer analyze` and `metamer export` as a user runs them: real processes, a real database
 * file, real output files; exit codes and one-line errors (docs/design.md §4).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCounts } from '../../analysis/analyze.ts';
import { loadStudyAt } from '../support/study-data.ts';
import { createSyntheticStudy } from '../analysis/synthetic-study.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
// Each test starts the CLI several times; generous for a busy shared machine.
const CLI_TIMEOUT = 180_000;
let dbFile: string;

function metamer(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/metamer.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, METAMER_DB: dbFile, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-cli-'));
  dbFile = path.join(dir, 'metamer.db');
  createSyntheticStudy(dbFile, { participants: 10, mainTrials: 21, abandoned: [0], predictions: true, preview: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('metamer analyze', () => {
  it(
    'prints the JSON result the library computes, and writes the figure',
    async () => {
      const r = metamer([
        'analyze',
        'synth',
        '--db',
        dbFile,
        '--json',
        '--bootstrap',
        '800',
        '--permutations',
        '99',
        '--seed',
        '7',
        '--compare',
        'all',
        '--plot',
        'fig.svg',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      const s = await loadStudyAt(dbFile, 'synth');
      const lib = analyzeCounts(s.counts, {
        exclusions: s.exclusions,
        choices: s.choices,
        bootstrap: 800,
        permutations: 99,
        seed: 7,
        compare: 'all',
        predictions: s.predictions,
        stimuli: s.stimuli,
      });
      expect(out.table).toEqual(JSON.parse(JSON.stringify(lib.table)));
      expect(out.model_layer_anova.effects.map((e: { effect: string }) => e.effect)).toEqual(['model', 'layer', 'model:layer']);
      expect(out.model_layer_anova.levels[0]).toBe('natural');
      expect(out.human_vs_model).toHaveLength(2);
      expect(out.other_model.rows).toHaveLength(6);
      expect(out.exclusions.counts.incomplete).toBe(1);
      expect(fs.readFileSync(path.join(dir, 'fig.svg'), 'utf8')).toMatch(/^<svg[^>]*>/);
    },
    CLI_TIMEOUT,
  );

  it(
    'writes the CSV table to --out and honours exclusion overrides',
    () => {
      const r = metamer(['analyze', 'synth', '--format', 'csv', '--out', 'table.csv', '--bootstrap', '0', '--no-exclude-incomplete']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      const rows = parse(fs.readFileSync(path.join(dir, 'table.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      expect(Object.keys(rows[0]!)).toEqual([
        'study_id',
        'model',
        'layer',
        'layer_index',
        'n_participants',
        'n_trials',
        'recognizability',
        'sem',
        'ci_low',
        'ci_high',
        'chance',
      ]);
      // The abandoned participant is kept: all 10 participants have natural trials.
      expect(rows[0]).toMatchObject({ model: '', layer: 'natural', n_participants: '10', ci_low: '', chance: '0.25' });
    },
    CLI_TIMEOUT,
  );

  it(
    'analyses a trials CSV, shows a progress bar when asked, prints Markdown by default',
    () => {
      const csv = path.join(dir, 'trials.csv');
      fs.writeFileSync(csv, 'participant_id,model,layer,correct\np1,,natural,1\np1,m,L1,0\np2,,natural,1\np2,m,L1,1\n');
      const r = metamer(['analyze', '--trials', csv, '--choices', '16', '--progress', '--bootstrap', '2000']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^# Recognizability: study trials/);
      expect(r.stdout).toContain('| trials | m | L1 | 1 | 2 | 2 | 0.5 |');
      expect(r.stderr).toMatch(/bootstrap\s+\[.*\] 100% \| 2000\/2000/);
    },
    CLI_TIMEOUT,
  );

  it(
    'fails with one line and exit 1 on user errors, exit 2 on misuse',
    () => {
      const unknown = metamer(['analyze', 'nope']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^metamer: study "nope" is not in .*metamer\.db \(studies: synth\)\n$/);
      const badCsv = path.join(dir, 'bad.csv');
      fs.writeFileSync(badCsv, 'participant_id,model,layer,correct\np1,,natural,maybe\n');
      const bad = metamer(['analyze', '--trials', badCsv]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe(`metamer: ${badCsv}: line 2, column "correct": must be 1 or 0 (true/false also accepted)\n`);
      expect(metamer(['analyze']).code).toBe(2);
      expect(metamer(['analyze', 'synth', '--trials', badCsv]).code).toBe(2);
      expect(metamer(['analyze', 'synth', '--bootstrap', '-3']).code).toBe(2);
      expect(metamer(['analyze', 'synth', '--format', 'xml']).code).toBe(2);
      const plot = metamer(['analyze', 'synth', '--plot', 'fig.png', '--bootstrap', '0']);
      expect(plot.code).toBe(1);
      expect(plot.stderr).toMatch(/--plot fig\.png: .*\*\.svg/);
      expect(fs.existsSync(path.join(dir, 'fig.png'))).toBe(false);
    },
    CLI_TIMEOUT,
  );
});

describe('metamer export', () => {
  it(
    'writes CSV, JSON and Psych-DS (folder and zip) without raw Prolific IDs',
    () => {
      for (const format of ['csv', 'json', 'psych-ds']) {
        const r = metamer(['export', 'synth', '--format', format, '--out', `out-${format}`, '--json']);
        expect(r.code).toBe(0);
        const info = JSON.parse(r.stdout);
        expect(info.trials).toBeGreaterThan(0);
        for (const f of info.files) expect(fs.readFileSync(f, 'utf8')).not.toContain('PROLIFIC-SECRET');
      }
      expect(fs.readdirSync(path.join(dir, 'out-csv'))).toEqual(['synth_trials.csv']);
      expect(fs.readdirSync(path.join(dir, 'out-psych-ds')).sort()).toEqual(['data', 'dataset_description.json']);
      expect(fs.readdirSync(path.join(dir, 'out-psych-ds/data'))).toEqual(['study-synth_data.csv']);
      const zip = metamer(['export', 'synth', '--format', 'psych-ds', '--zip', '--out', 'zip']);
      expect(zip.code).toBe(0);
      expect(zip.stdout).toMatch(/trials of study synth written:\n {2}.*study-synth_psych-ds\.zip\n$/);
      const files = unzipSync(fs.readFileSync(path.join(dir, 'zip/study-synth_psych-ds.zip')));
      expect(Object.keys(files).sort()).toEqual(['study-synth/data/study-synth_data.csv', 'study-synth/dataset_description.json']);
      expect(metamer(['export', 'synth', '--format', 'csv', '--zip', '--out', 'x']).code).toBe(2);
      const missing = metamer(['export', 'ghost', '--out', 'ghost']);
      expect(missing.code).toBe(1);
      expect(fs.existsSync(path.join(dir, 'ghost'))).toBe(false);
    },
    CLI_TIMEOUT,
  );
});
