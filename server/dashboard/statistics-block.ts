/**
 * The study page's statistics: the repeated-measures ANOVA over the study's models (one model: the
 * one-way ANOVA over its levels) and each human-vs-model ANOVA, with F, partial η², the
 * F-distribution p and MATLAB ranova's sphericity corrections (Greenhouse–Geisser, Huynh–Feldt,
 * lower bound) and Mauchly's test — what `metamer analyze <study> --compare all` prints, without
 * the permutation tests (the page says how to run them).
 */
import type { AnalysisResult } from '../../analysis/analyze.ts';
import type { DesignAnova } from '../../analysis/design-anova.ts';
import type { AnovaEffect } from '../../analysis/anova-effect.ts';
import type { MauchlyTest } from '../../analysis/sphericity.ts';
import { html, type SafeHtml } from './html.ts';

function p(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  return x < 0.001 ? x.toExponential(1) : x.toFixed(3);
}

function n(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'undefined';
  return x === Infinity ? '∞' : x.toFixed(digits);
}

function effectRow(e: AnovaEffect): SafeHtml {
  const corrected = e.epsilon_gg !== 1 || e.epsilon_hf !== 1;
  return html`<tr data-effect="${e.effect}">
    <th scope="row" class="mono">${e.effect}</th>
    <td class="num nowrap">${e.df1}, ${e.df2}</td>
    <td class="num">${n(e.F, 2)}</td>
    <td class="num">${Number.isNaN(e.F) ? '—' : n(e.partial_eta2, 3)}</td>
    <td class="num">${p(e.p_parametric)}</td>
    <td class="num" data-field="epsilon-gg">${corrected ? n(e.epsilon_gg, 3) : '—'}</td>
    <td class="num" data-field="p-gg">${p(e.p_gg)}</td>
    <td class="num" data-field="epsilon-hf">${corrected ? n(e.epsilon_hf, 3) : '—'}</td>
    <td class="num" data-field="p-hf">${p(e.p_hf)}</td>
    <td class="num" data-field="p-lb">${p(e.p_lb)}</td>
  </tr>`;
}

function anovaTable(title: string, caption: string, a: DesignAnova, key: string): SafeHtml {
  const mauchly = a.sphericity.filter((m) => m.q > 1);
  return html`<h3>${title}</h3>
    <p class="muted small">${caption}</p>
    <div class="table-scroll">
      <table class="table table-compact" data-table="${key}">
        <thead>
          <tr>
            <th scope="col">Effect</th>
            <th scope="col" class="num">df</th>
            <th scope="col" class="num">F</th>
            <th scope="col" class="num">partial η²</th>
            <th scope="col" class="num">p</th>
            <th scope="col" class="num" title="Greenhouse–Geisser ε">ε GG</th>
            <th scope="col" class="num">p GG</th>
            <th scope="col" class="num" title="Huynh–Feldt ε (Lecoutre's form, as MATLAB)">ε HF</th>
            <th scope="col" class="num">p HF</th>
            <th scope="col" class="num" title="lower bound ε = 1/df">p LB</th>
          </tr>
        </thead>
        <tbody>
          ${a.effects.map(effectRow)}
        </tbody>
      </table>
    </div>
    ${mauchly.length ? mauchlyLine(mauchly) : ''}`;
}

function mauchlyLine(tests: readonly MauchlyTest[]): SafeHtml {
  const one = (m: MauchlyTest, i: number): SafeHtml => {
    if (m.W === null) return html`${i ? '; ' : ''}<span class="mono">${m.effect}</span> undefined (too few participants)`;
    const test = `W = ${m.W.toFixed(3)}, χ²(${m.df}) = ${n(m.chi2 ?? NaN, 2)}, p = ${p(m.p ?? NaN)}`;
    return html`${i ? '; ' : ''}<span class="mono">${m.effect}</span> ${test}`;
  };
  return html`<p class="muted small" data-field="mauchly">Mauchly's test of sphericity: ${tests.map(one)}.</p>`;
}

export function statisticsSection(result: AnalysisResult | null, studyId: string): SafeHtml {
  if (!result) return html``;
  const a = result.model_layer_anova;
  const blocks: SafeHtml[] = [];
  if (a) {
    const title = a.design === 'one-way' ? `Layer ANOVA of ${a.models[0]}` : `Model × layer ANOVA (${a.models.join(', ')})`;
    blocks.push(
      anovaTable(
        title,
        `Repeated measures over ${a.levels.join(', ')}; ${a.n_participants} participants` +
          `${a.n_incomplete ? ` (${a.n_incomplete} without every cell left out)` : ''}.`,
        a,
        'anova',
      ),
    );
  }
  for (const h of result.human_vs_model) {
    blocks.push(
      anovaTable(
        `Human vs ${h.model}`,
        `Mixed ANOVA: observer (humans, the model on the same stimuli) × layer; ${h.n_participants} participants.`,
        h,
        `human-vs-${h.model}`,
      ),
    );
  }
  const notes = result.notes.filter((x) => x.startsWith('ANOVA not run'));
  if (blocks.length === 0 && notes.length === 0) return html``;
  return html`<section class="card" aria-labelledby="stats-h" data-section="statistics">
    <h2 id="stats-h">Statistics</h2>
    <p class="muted small">
      p from the F distribution, corrected for non-sphericity as MATLAB's ranova does (the paper's printouts). Permutation p-values by the
      paper's procedure: <code>npx metamer analyze ${studyId} --compare all</code>.
    </p>
    ${notes.map((x) => html`<p class="muted small">${x}</p>`)} ${blocks}
  </section>`;
}
