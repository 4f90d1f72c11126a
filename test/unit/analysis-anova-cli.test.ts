/**
 * `metamer anova` (a tidy CSV → the repeated-measures or mixed ANOVA) and its loader: it
 * reproduces the paper's network-only ANOVA of adversarial robustness (vision repository
 * experiment 9; test/fixtures/feather2023-printouts.ts) and MathWorks' fisheriris example, and
 * every bad input is refused with the file, line and column named.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TidyAnovaResult } from '../../analysis/anova-tidy.ts';
import { loadTidyDesign } from '../../analysis/anova-tidy.ts';
import { FEATHER2023_ADV_EVAL_PRINTOUT } from '../fixtures/feather2023-printouts.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');
const CLI_TIMEOUT = 180_000;
let dir: string;

function metamer(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/metamer.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anova-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('metamer anova', () => {
  it(
    'reproduces the adversarial-evaluation ANOVAs of the paper (network between × attack size within)',
    () => {
      for (const [attack, expected] of Object.entries(FEATHER2023_ADV_EVAL_PRINTOUT.attacks)) {
        const data = path.join(FIXTURES, `feather2023-exp9-adv-eval-${attack}.csv`);
        const r = metamer([
          'anova',
          '--data',
          data,
          '--subject',
          'run',
          '--within',
          'eps',
          '--between',
          'network',
          '--dv',
          'accuracy',
          '--json',
        ]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout) as TidyAnovaResult;
        expect(out.permutation_procedure).toMatch(/run_permutation_significance_test_model_adv_eval\.m/);
        expect(out.between!.sizes).toEqual([5, 5]);
        for (const [name, want] of Object.entries(expected)) {
          const e = out.effects.find((x) => x.effect === name)!;
          const what = `${FEATHER2023_ADV_EVAL_PRINTOUT.file} ${attack} ${name}`;
          expect([e.df1, e.df2], what).toEqual([want.df1, want.df2]);
          for (const [ours, theirs] of [
            [e.F, want.F],
            [e.partial_eta2, want.partial_eta2],
            [e.p_parametric, want.p],
            [e.p_gg, want.p_gg],
            [e.p_hf, want.p_hf],
            [e.p_lb, want.p_lb],
          ] as const) {
            expect(rel(ours, theirs), `${what}: ${ours} vs ${theirs}`).toBeLessThanOrEqual(1e-4);
          }
          if ('p_permutation' in want) {
            // The tolerance of analysis-feather2023-printouts.test.ts: 4 binomial SEs of a difference, + 2/N.
            const mean = (e.p_permutation! + want.p_permutation) / 2;
            expect(Math.abs(e.p_permutation! - want.p_permutation), what).toBeLessThanOrEqual(
              4 * Math.sqrt((2 * mean * (1 - mean)) / 10_000) + 2e-4,
            );
          }
        }
      }
    },
    CLI_TIMEOUT,
  );

  it(
    'prints the Markdown blocks of analyze, for the fisheriris example with its sphericity test',
    () => {
      const r = metamer([
        'anova',
        '--data',
        path.join(FIXTURES, 'fisher-iris-long.csv'),
        '--subject',
        'flower',
        '--within',
        'measure',
        '--between',
        'species',
        '--dv',
        'value',
        '--permutations',
        '200',
        '--out',
        'iris.md',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      const md = fs.readFileSync(path.join(dir, 'iris.md'), 'utf8');
      expect(md).toMatch(/^# Repeated-measures ANOVA: value in .*fisher-iris-long\.csv/);
      expect(md).toContain('- between: species (setosa: 50, versicolor: 50, virginica: 50)');
      expect(md).toContain('| species:measure | 6, 441 | 586.1 |');
      expect(md).toContain('| measure | 0.5581 | 84.976 | 5 | 7.61e-17 |');
      expect(md).toContain('- species:measure: species labels permuted across subjects and measure levels shuffled within each subject.');
    },
    CLI_TIMEOUT,
  );

  it(
    'fails with one line naming the file and column (exit 1), and exit 2 for a missing option',
    () => {
      const data = write('bad.csv', 'subj,cond,y\ns1,a,0.5\ns1,b,x\n');
      const bad = metamer(['anova', '--data', data, '--subject', 'subj', '--within', 'cond', '--dv', 'y']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe(`metamer: ${data}: line 3, column "y": "x" is not a number\n`);
      const missing = metamer(['anova', '--data', data, '--subject', 'participant', '--within', 'cond', '--dv', 'y']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`metamer: ${data}: no column "participant" (columns: subj, cond, y)\n`);
      const usage = metamer(['anova', '--data', data, '--subject', 'subj', '--dv', 'y']);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/required option '--within <columns>' not specified/);
    },
    CLI_TIMEOUT,
  );
});

describe('loadTidyDesign', () => {
  const spec = { subject: 's', within: ['a', 'b'], dv: 'y' };

  it('orders levels by first appearance, cells row-major, and leaves out (and counts) subjects lacking a cell', async () => {
    const file = write(
      'ok.csv',
      [
        's,a,b,y',
        'p1,hi,x,1',
        'p1,hi,y,2',
        'p1,lo,x,3',
        'p1,lo,y,4',
        'p2,lo,y,8',
        'p2,lo,x,7',
        'p2,hi,y,6',
        'p2,hi,x,5',
        'p3,hi,x,1',
        'p4,hi,x,0',
        'p4,hi,y,0',
        'p4,lo,x,1',
        'p4,lo,y,1',
      ].join('\n'),
    );
    const t = await loadTidyDesign(file, spec);
    expect(t.design.within).toEqual([
      { name: 'a', levels: ['hi', 'lo'] },
      { name: 'b', levels: ['x', 'y'] },
    ]);
    expect(t.subjects).toEqual(['p1', 'p2', 'p4']);
    expect(t.incomplete).toEqual(['p3']);
    expect(Array.from(t.design.y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 1, 1]);
  });

  it('averages repeated rows only when asked', async () => {
    const file = write('rep.csv', 's,a,b,y\np1,u,x,1\np1,u,x,0\np1,u,y,1\np1,v,x,1\np1,v,y,0\np2,u,x,1\np2,u,y,0\np2,v,x,0\np2,v,y,1\n');
    await expect(loadTidyDesign(file, spec)).rejects.toThrow(
      `${file}: line 3: subject "p1" already has a value for a=u, b=x (line 2); pass --aggregate mean to average repeated rows`,
    );
    const t = await loadTidyDesign(file, { ...spec, aggregate: 'mean' });
    expect(Array.from(t.design.y.subarray(0, 4))).toEqual([0.5, 1, 1, 0]);
  });

  it('names the file, line and column of every problem', async () => {
    const cases: [string, Partial<typeof spec> & { between?: string }, string][] = [
      ['s,a,b,y\np1,u,x,\n', {}, 'line 2, column "y": empty'],
      ['s,a,b,y\np1,u,x,1\np1,v,x,1\n', {}, 'column "b" has one level ("x"); a within-subject factor needs two or more'],
      ['s,a,b,y,g\np1,u,x,1,A\np1,u,y,1,B\n', { between: 'g' }, 'line 3, column "g": subject "p1" is in "B" here but in "A" on line 2'],
      ['s,a,b,y\np1,u,x,1\np1,u,y,2\np1,v,x,3\np1,v,y,4\n', {}, '1 subject(s) have every cell (4 cells); the ANOVA needs more than 1'],
      ['s,a,b,y\n', {}, 'no data rows'],
      ['s,a,b,y\np1,"u,x,1\n', {}, 'line'],
    ];
    for (const [text, extra, message] of cases) {
      const file = write('case.csv', text);
      await expect(loadTidyDesign(file, { ...spec, ...extra })).rejects.toThrow(`${file}: ${message}`);
    }
    await expect(loadTidyDesign(path.join(dir, 'absent.csv'), spec)).rejects.toThrow(/absent\.csv: no such file/);
    await expect(loadTidyDesign(write('x.csv', 's,a,b,y\n'), { ...spec, dv: 'a' })).rejects.toThrow('column "a" is given for two roles');
  });
});
