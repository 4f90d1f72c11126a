/**
 * The dashboard’s statistics block (issue 12): a real server (on SQLite and on PostgreSQL),
 * participants played through the real participant API, the study page and its JSON download
 * showing the layer ANOVA with MATLAB ranova's sphericity corrections, and the same numbers as
 * `metamer analyze --compare all`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../analysis/analyze.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, completeParticipant, logIn } from './admin-participants.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let server: TestServer;
let cookie: string;

beforeAll(async () => {
  server = await startTestServer();
  cookie = await logIn(server);
  // Five participants, each missing a different share of the deeper layers: a layer effect with
  // participant-to-participant variation (screening and practice answered right, so all pass).
  for (let k = 0; k < 5; k++) {
    await completeParticipant(server, `5f1a00000000000000005e0${k}`, 'fixture-study', (i, t) => {
      if (t.phase !== 'main') return true;
      return t.layer === 'natural' || (t.layer === 'relu0' ? (i + k) % 4 !== 0 : (i + k) % (t.layer === 'final' ? 2 : 3) === 0);
    });
  }
}, 120_000);
afterAll(async () => {
  await server?.dispose();
});

describe('the statistics block', () => {
  it('shows the layer ANOVA with ε and corrected p-values, Mauchly’s test, and how to get permutation p-values', async () => {
    const page = await adminGet(server, cookie, '/admin/studies/fixture-study');
    expect(page.status).toBe(200);
    const section = /<section class="card" aria-labelledby="stats-h" data-section="statistics">([\s\S]*?)<\/section>/.exec(page.text)?.[1];
    expect(section, 'statistics section').toBeDefined();
    expect(section).toContain('Layer ANOVA of');
    expect(section).toContain('npx metamer analyze fixture-study --compare all');
    const row = /<tr data-effect="layer">([\s\S]*?)<\/tr>/.exec(section!)![1]!;
    const cell = (field: string) => new RegExp(`data-field="${field}">([^<]*)<`).exec(row)![1]!;
    const json = JSON.parse(
      (await adminGet(server, cookie, '/admin/studies/fixture-study/recognizability.json', 'application/json')).text,
    ) as AnalysisResult;
    const e = json.model_layer_anova!.effects[0]!;
    expect(e.effect).toBe('layer');
    expect(e.F).toBeGreaterThan(1);
    expect(e.epsilon_gg).toBeLessThan(1);
    expect(cell('epsilon-gg')).toBe(e.epsilon_gg.toFixed(3));
    expect(cell('epsilon-hf')).toBe(e.epsilon_hf.toFixed(3));
    expect(Number(cell('p-gg'))).toBeCloseTo(e.p_gg, e.p_gg < 0.001 ? 4 : 3);
    expect(cell('p-lb')).not.toBe('—');
    expect(section).toMatch(
      /data-field="mauchly">Mauchly's test of sphericity: <span class="mono">layer<\/span> W = \d\.\d{3}, χ²\(5\) = /,
    );
    // Without permutations on the dashboard, and the same table as the CLI computes.
    expect(json.options.permutations).toBe(0);
    expect(e.p_permutation).toBeNull();
    const cli = await run(
      process.execPath,
      [
        'bin/metamer.js',
        '--db',
        server.dbFile,
        'analyze',
        'fixture-study',
        '--compare',
        'all',
        '--permutations',
        '0',
        '--bootstrap',
        '0',
        '--json',
        '--no-progress',
      ],
      { cwd: ROOT, env: { ...process.env, ...server.cliEnv } },
    );
    const fromCli = (JSON.parse(cli.stdout) as AnalysisResult).model_layer_anova!;
    expect(fromCli.effects).toEqual(json.model_layer_anova!.effects);
    expect(fromCli.sphericity).toEqual(json.model_layer_anova!.sphericity);
  }, 120_000);
});
