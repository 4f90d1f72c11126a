/**
 * Writers for analysis results: the recognizability table as CSV (DESIGN §4 columns), JSON (the
 * whole result) and a Markdown report (exclusions, table, statistics, notes). Strings only; the
 * caller decides where they go.
 */
import { stringify } from 'csv-stringify/sync';
import type { AnovaEffect } from './anova-effect.ts';
import type { AnalysisResult } from './analyze.ts';
import { type RecognizabilityRow, TABLE_COLUMNS } from './recognizability.ts';

/** Numbers in CSV/Markdown: 6 decimals (far below any sampling error here), trailing zeros dropped. */
function num(x: number | null, digits = 6): string {
  if (x === null || !Number.isFinite(x)) return '';
  return String(Number(x.toFixed(digits)));
}

export function tableToCsv(rows: readonly RecognizabilityRow[]): string {
  return stringify(
    rows.map((r) => TABLE_COLUMNS.map((c) => {
      const v = r[c];
      return typeof v === 'number' ? num(v) : (v ?? '');
    })),
    { header: true, columns: [...TABLE_COLUMNS] },
  );
}

/** JSON with non-finite numbers as null (JSON has no NaN/Infinity). */
export function resultsToJson(results: readonly AnalysisResult[]): string {
  return `${JSON.stringify(results.length === 1 ? results[0] : results, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
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
    rows.map((r) => TABLE_COLUMNS.map((c) => {
      const v = r[c];
      return typeof v === 'number' ? num(v, 4) : (v ?? '');
    })),
  );
}

function pValue(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '';
  return p < 0.0001 ? p.toExponential(2) : num(p, 4);
}

function anovaMd(effects: readonly AnovaEffect[]): string {
  return mdTable(
    ['effect', 'df', 'F', 'partial η²', 'p (permutation)', 'p (F distribution)'],
    effects.map((e) => [e.effect, `${e.df1}, ${e.df2}`, num(e.F, 3), num(e.partial_eta2, 3), pValue(e.p_permutation), pValue(e.p_parametric)]),
  );
}

export function resultToMarkdown(r: AnalysisResult): string {
  const out: string[] = [];
  const x = r.exclusions;
  out.push(`# Recognizability: study ${r.study_id}`, '');
  out.push(
    `Bootstrap: B = ${r.options.bootstrap}${r.options.bootstrap_trials ? ' (two-stage: participants, then trials)' : ' (participants)'}, ` +
      `${Math.round(r.options.ci_level * 100)}% percentile CI; permutations: ${r.options.permutations}; seed: ${r.options.seed}.`,
    '',
  );
  out.push('## Participants', '');
  out.push(`${x.participants_included} of ${x.participants_total} participants included.`, '');
  out.push(
    mdTable(
      ['rule', 'setting', 'excluded'],
      [
        ['screened out', x.rules.screened_out ? 'on' : 'off', String(x.counts.screened_out)],
        ['incomplete session', x.rules.incomplete ? 'on' : 'off', String(x.counts.incomplete)],
        ['quality flags', x.rules.flagged ? 'on' : 'off', String(x.counts.flagged)],
        ['catch-trial accuracy', x.rules.catch_min_accuracy > 0 ? `< ${x.rules.catch_min_accuracy}` : 'off', String(x.counts.catch_accuracy)],
        ['natural-condition accuracy', x.rules.natural_min_accuracy > 0 ? `< ${x.rules.natural_min_accuracy}` : 'off', String(x.counts.natural_accuracy)],
      ],
    ),
    '',
  );
  for (const n of x.notes) out.push(`- ${n}`);
  if (x.notes.length) out.push('');
  out.push('## Recognizability per condition', '', tableToMarkdown(r.table), '');
  if (r.model_layer_anova) {
    const a = r.model_layer_anova;
    out.push('## Model × layer ANOVA (repeated measures)', '');
    out.push(
      `Models: ${a.models.join(', ')}; layer levels: ${a.levels.join(', ')}` +
        `${a.levels[0] === 'natural' ? ' (natural duplicated as the first level of each model)' : ''}; ` +
        `${a.n_participants} participants${a.n_incomplete ? ` (${a.n_incomplete} without every cell left out)` : ''}.`,
      '',
      anovaMd(a.effects),
      '',
    );
  }
  for (const h of r.human_vs_model) {
    out.push(`## Human vs ${h.model} (mixed ANOVA: observer × layer)`, '');
    out.push(`${h.n_participants} participants${h.n_incomplete ? ` (${h.n_incomplete} without every cell left out)` : ''}.`, '');
    out.push(
      mdTable(['layer', 'human', h.model], h.levels.map((l) => [l.layer, num(l.human_mean, 4), num(l.network_mean, 4)])),
      '',
      anovaMd(h.effects),
      '',
    );
  }
  if (r.other_model) {
    const o = r.other_model;
    out.push('## Other-model recognizability', '');
    out.push(`Observer models: ${o.observers.join(', ')}.`, '');
    out.push(
      mdTable(
        ['model', 'layer', 'stimuli', 'other models', 'other-model recognizability', 'human recognizability'],
        o.rows.map((row) => [row.model, row.layer, String(row.n_stimuli), String(row.n_observers), num(row.other_model_recognizability, 4), num(row.human_recognizability, 4)]),
      ),
      '',
    );
    if (o.spearman) {
      out.push(`Spearman ρ = ${num(o.spearman.rho, 3)} over ${o.spearman.n} conditions, permutation p = ${pValue(o.spearman.p_permutation)}.`, '');
    }
  }
  if (r.notes.length) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
