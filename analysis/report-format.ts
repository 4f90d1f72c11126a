/**
 * Writers for analysis results: the recognizability table as CSV (docs/design.md §4 columns), JSON (the
 * whole result) and a Markdown report (exclusions, table, statistics, notes). Strings only; the
 * caller decides where they go.
 */
import { stringify } from 'csv-stringify/sync';
import type { AnovaEffect } from './anova-effect.ts';
import type { AnalysisResult } from './analyze.ts';
import type { TidyAnovaResult } from './anova-tidy.ts';
import type { DesignAnova } from './design-anova.ts';
import { type RecognizabilityRow, TABLE_COLUMNS } from './recognizability.ts';

/** Numbers in CSV/Markdown: 6 decimals (far below any sampling error here), trailing zeros dropped. */
function num(x: number | null, digits = 6): string {
  if (x === null || !Number.isFinite(x)) return '';
  return String(Number(x.toFixed(digits)));
}

export function tableToCsv(rows: readonly RecognizabilityRow[]): string {
  return stringify(
    rows.map((r) =>
      TABLE_COLUMNS.map((c) => {
        const v = r[c];
        return typeof v === 'number' ? num(v) : (v ?? '');
      }),
    ),
    { header: true, columns: [...TABLE_COLUMNS] },
  );
}

/** JSON with non-finite numbers as null (JSON has no NaN/Infinity). */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

export function resultsToJson(results: readonly AnalysisResult[]): string {
  return toJson(results.length === 1 ? results[0] : results);
}

export function anovaResultToJson(result: TidyAnovaResult): string {
  return toJson(result);
}

function mdRow(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [mdRow(header), mdRow(header.map(() => '---')), ...rows.map(mdRow)].join('\n');
}

export function tableToMarkdown(rows: readonly RecognizabilityRow[]): string {
  return mdTable(
    TABLE_COLUMNS,
    rows.map((r) =>
      TABLE_COLUMNS.map((c) => {
        const v = r[c];
        return typeof v === 'number' ? num(v, 4) : (v ?? '');
      }),
    ),
  );
}

function pValue(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '';
  // Below the smallest double the F tail underflows to 0, as in MATLAB's output.
  if (p === 0) return '0';
  return p < 0.0001 ? p.toExponential(2) : num(p, 4);
}

function epsilon(e: AnovaEffect): [string, string] {
  // Between-subjects and one-df effects need no correction (ε = 1); leave the cells empty.
  return e.epsilon_gg === 1 && e.epsilon_hf === 1 ? ['', ''] : [num(e.epsilon_gg, 4), num(e.epsilon_hf, 4)];
}

function fValue(F: number): string {
  if (Number.isNaN(F)) return 'undefined';
  return F === Infinity ? '∞' : num(F, 3);
}

/** An ANOVA block: scheme, effects with sphericity corrections, Mauchly's tests, permutation nulls. */
export function anovaMd(a: DesignAnova): string {
  const out: string[] = [];
  out.push(
    a.permutations > 0
      ? `Permutation scheme: ${a.permutation_procedure}; N = ${a.permutations}.`
      : 'Permutation tests not run (--permutations 0).',
    '',
  );
  out.push(
    mdTable(
      ['effect', 'df', 'F', 'partial η²', 'p (permutation)', 'p (F)', 'ε GG', 'ε HF', 'p GG', 'p HF', 'p LB'],
      a.effects.map((e) => [
        e.effect,
        `${e.df1}, ${e.df2}`,
        fValue(e.F),
        num(e.partial_eta2, 3),
        pValue(e.p_permutation),
        pValue(e.p_parametric),
        ...epsilon(e),
        pValue(e.p_gg),
        pValue(e.p_hf),
        pValue(e.p_lb),
      ]),
    ),
    '',
  );
  const tested = a.sphericity.filter((m) => m.q > 1);
  if (tested.length > 0) {
    out.push(
      "Mauchly's test of sphericity:",
      '',
      mdTable(
        ['effect', 'W', 'χ²', 'df', 'p'],
        tested.map((m) => [m.effect, m.W === null ? 'undefined' : num(m.W, 4), num(m.chi2, 3), String(m.df), pValue(m.p)]),
      ),
      '',
    );
  }
  const undefinedF = a.effects.filter((e) => Number.isNaN(e.F));
  for (const e of undefinedF) {
    out.push(`- ${e.effect}: F is undefined (its sums of squares are zero up to rounding: no variation to test).`);
  }
  if (a.permutations > 0) for (const e of a.effects) if (e.permutation_null) out.push(`- ${e.effect}: ${e.permutation_null}.`);
  if (undefinedF.length > 0 || a.permutations > 0) out.push('');
  return out.join('\n');
}

export function resultToMarkdown(r: AnalysisResult): string {
  const out: string[] = [];
  const x = r.exclusions;
  out.push(`# Recognizability: study ${r.study_id}`, '');
  out.push(
    `Bootstrap: B = ${r.options.bootstrap}${r.options.bootstrap_trials ? ' (two-stage: participants, then trials)' : ' (participants)'}, ` +
      `${Math.round(r.options.ci_level * 100)}% percentile CI; ` +
      `permutations: ${r.options.permutations} (scheme: ${r.options.permutation_scheme}); ` +
      `seed: ${r.options.seed}.`,
    '',
  );
  if (r.options.layers || r.options.drop_layers) {
    const only = r.options.layers ? `only ${r.options.layers.join(', ')}` : 'all';
    out.push(`Levels: ${only}${r.options.drop_layers ? `, without ${r.options.drop_layers.join(', ')}` : ''}.`, '');
  }
  out.push('## Participants', '');
  out.push(`${x.participants_included} of ${x.participants_total} participants included.`, '');
  out.push(
    mdTable(
      ['rule', 'setting', 'excluded'],
      [
        ['screened out', x.rules.screened_out ? 'on' : 'off', String(x.counts.screened_out)],
        ['incomplete session', x.rules.incomplete ? 'on' : 'off', String(x.counts.incomplete)],
        ['quality flags', x.rules.flagged ? 'on' : 'off', String(x.counts.flagged)],
        [
          'catch-trial accuracy',
          x.rules.catch_min_accuracy > 0 ? `< ${x.rules.catch_min_accuracy}` : 'off',
          String(x.counts.catch_accuracy),
        ],
        [
          'natural-condition accuracy',
          x.rules.natural_min_accuracy > 0 ? `< ${x.rules.natural_min_accuracy}` : 'off',
          String(x.counts.natural_accuracy),
        ],
      ],
    ),
    '',
  );
  for (const n of x.notes) out.push(`- ${n}`);
  if (x.notes.length) out.push('');
  out.push('## Recognizability per condition', '', tableToMarkdown(r.table), '');
  if (r.model_layer_anova) {
    const a = r.model_layer_anova;
    if (a.design === 'one-way') {
      out.push(`## Layer ANOVA of ${a.models[0]} (one-way repeated measures)`, '');
      const left = a.n_incomplete ? ` (${a.n_incomplete} without every cell left out)` : '';
      out.push(`Levels: ${a.levels.join(', ')}; ${a.n_participants} participants${left}.`, '');
    } else {
      out.push('## Model × layer ANOVA (repeated measures)', '');
      out.push(
        `Models: ${a.models.join(', ')}; layer levels: ${a.levels.join(', ')}` +
          `${a.levels[0] === 'natural' ? ' (natural duplicated as the first level of each model)' : ''}; ` +
          `${a.n_participants} participants${a.n_incomplete ? ` (${a.n_incomplete} without every cell left out)` : ''}.`,
        '',
      );
    }
    out.push(anovaMd(a));
  }
  for (const h of r.human_vs_model) {
    out.push(`## Human vs ${h.model} (mixed ANOVA: observer × layer)`, '');
    out.push(`${h.n_participants} participants${h.n_incomplete ? ` (${h.n_incomplete} without every cell left out)` : ''}.`, '');
    const means = h.levels.map((l) => [l.layer, num(l.human_mean, 4), num(l.network_mean, 4)]);
    out.push(mdTable(['layer', 'human', h.model], means), '', anovaMd(h));
  }
  if (r.other_model) {
    const o = r.other_model;
    out.push('## Other-model recognizability', '');
    out.push(
      `Observer models: ${o.observers.join(', ')}; ` +
        `${o.stimuli === 'all' ? 'every stimulus of a condition the predictions cover' : 'only stimuli shown in main trials'}.`,
      '',
    );
    out.push(
      mdTable(
        ['model', 'layer', 'stimuli', 'other models', 'other-model recognizability', 'human recognizability'],
        o.rows.map((row) => [
          row.model,
          row.layer,
          String(row.n_stimuli),
          String(row.n_observers),
          num(row.other_model_recognizability, 4),
          num(row.human_recognizability, 4),
        ]),
      ),
      '',
    );
    if (o.pearson && o.spearman && o.kendall) {
      out.push(
        `Across ${o.spearman.n} conditions: Pearson r = ${num(o.pearson.r, 3)} (R² = ${num(o.pearson.r2, 3)}), ` +
          `permutation p = ${pValue(o.pearson.p_permutation)}; ` +
          `Spearman ρ = ${num(o.spearman.rho, 3)}, p = ${pValue(o.spearman.p_permutation)}; ` +
          `Kendall τ_b = ${num(o.kendall.tau_b, 3)}, p = ${pValue(o.kendall.p_permutation)}.`,
        '',
      );
    }
  }
  if (r.notes.length) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** `metamer anova`'s report: the design, then the same ANOVA block as `metamer analyze`. */
export function tidyAnovaToMarkdown(r: TidyAnovaResult): string {
  const out: string[] = [`# Repeated-measures ANOVA: ${r.dv} in ${r.data}`, ''];
  const left = r.n_incomplete ? `; ${r.n_incomplete} without every cell left out` : '';
  out.push(`${r.n_subjects} subjects (column ${r.subject})${left}; ${r.rows} rows.`, '');
  for (const f of r.within) out.push(`- within: ${f.name} (${f.levels.join(', ')})`);
  if (r.between) out.push(`- between: ${r.between.name} (${r.between.levels.map((l, i) => `${l}: ${r.between!.sizes[i]}`).join(', ')})`);
  out.push('', anovaMd(r));
  return out.join('\n');
}
