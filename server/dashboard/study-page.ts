/**
 * One study: what to paste into Prolific, the study's life (launch, pause, close, preview), live
 * progress, per-condition trial counts against the plan, the recognizability table and figure,
 * downloads and the latest sessions. Pseudonymous: the payments page is the only one with IDs.
 *
 * The page has two live parts (`head`, `body`) that the script refreshes from /live.
 */
import type { CachedAnalysis } from './study-analysis.ts';
import type { StudyProgress } from '../admin-progress.ts';
import type { SessionSummary } from '../store/store.ts';
import type { QualityFlag } from '../../analysis/quality-flags.ts';
import type { DashboardBundle } from './bundle.ts';
import { flagList } from './flag-list.ts';
import { formatDuration, formatProportion, formatTime, isoTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { flash, page, progressBar, sessionBadge, statusBadge } from './layout.ts';
import { statisticsSection } from './statistics-block.ts';
import { prolificPanel } from './prolific-panel.ts';
import type { ProlificOverview } from '../prolific/overview.ts';

export interface StudyView {
  progress: StudyProgress;
  /** The table and when it was computed (the live page may show one a few seconds old: liveStaleMs). */
  analysis: CachedAnalysis | null;
  /** Why the analysis could not run (shown instead of the table). */
  analysisError?: string;
  /** Most recent first. */
  sessions: SessionSummary[];
  /** How many sessions exist in all (the list may be cut). */
  sessionsTotal: number;
  /** Quality flags of the listed sessions, by session id (server/session-quality.ts). */
  flags: ReadonlyMap<string, readonly QualityFlag[]>;
  /** The Prolific loop's state (docs/prolific.md); absent where not computed. */
  prolific?: ProlificOverview | null;
}

const base = (id: string) => `/admin/studies/${encodeURIComponent(id)}`;

function conditionLabel(model: string, layer: string): SafeHtml {
  return model === ''
    ? html`<span class="cond-natural">${layer}</span>`
    : html`<span class="mono">${model}</span> <span class="muted">/</span> <span class="mono">${layer}</span>`;
}

function actionButton(id: string, action: string, label: string, cls: string, confirm?: string): SafeHtml {
  return html`<form method="post" action="${base(id)}/${action}"${confirm ? html` data-confirm="${confirm}"` : ''}><button type="submit" class="btn ${cls}" data-action="${action}">${label}</button></form>`;
}

export function studyHead(v: StudyView): SafeHtml {
  const p = v.progress;
  const actions: SafeHtml[] = [];
  if (p.status === 'draft') actions.push(actionButton(p.id, 'launch', 'Launch', 'btn-primary'));
  if (p.status === 'paused') actions.push(actionButton(p.id, 'launch', 'Resume', 'btn-primary'));
  if (p.status === 'live') actions.push(actionButton(p.id, 'pause', 'Pause', 'btn-secondary'));
  if (p.status !== 'closed') {
    actions.push(
      actionButton(
        p.id,
        'close',
        'Close',
        'btn-danger',
        `Close ${p.id} for good? New participants will be turned away; those in a session may finish.`,
      ),
    );
  }
  actions.push(
    html`<form method="post" action="${base(p.id)}/preview" target="_blank"><button type="submit" class="btn btn-secondary" data-action="preview" title="Run the study yourself; it is not counted">Preview</button></form>`,
  );
  return html`<div class="page-head">
  <div>
    <div class="crumbs"><a href="/admin">Studies</a> <span aria-hidden="true">/</span> <span class="mono">${p.id}</span></div>
    <h1>${p.title} ${statusBadge(p.status)}${p.target_reached ? html` <span class="badge badge-target">Target reached</span>` : ''}</h1>
    <p class="muted"><span class="chip">${p.modality}</span> stimulus set <strong>${p.stimulus_set}</strong> · created <time datetime="${isoTime(p.created_at)}">${formatTime(p.created_at)}</time></p>
  </div>
  <div class="actions">${actions}</div>
</div>`;
}

function recruitment(p: StudyProgress): SafeHtml {
  return html`<section class="card" aria-labelledby="recruitment-h">
  <h2 id="recruitment-h">Recruitment on Prolific</h2>
  <label for="participant-url" class="field-label">Study URL to paste into Prolific</label>
  <div class="copy-row">
    <input id="participant-url" class="mono" readonly value="${p.participant_url}">
    <button type="button" class="btn btn-secondary" data-copy="participant-url">Copy</button>
  </div>
  <dl class="facts">
    <div><dt>Completion code</dt><dd><code data-field="completion-code">${p.completion_code}</code></dd></div>
    <div><dt>Screen-out code</dt><dd><code>${p.screenout_code}</code></dd></div>
    <div><dt>Target</dt><dd>${p.target_completed} completed participants</dd></div>
    <div><dt>Abandoned after</dt><dd>${p.abandon_after_minutes} min without a trial</dd></div>
  </dl>
</section>`;
}

function stats(p: StudyProgress): SafeHtml {
  const s = p.sessions;
  return html`<section class="stats" aria-label="Sessions">
  <div class="stat stat-wide">
    <div class="stat-label">Completed</div>
    <div class="stat-value"><span data-field="completed">${s.completed}</span><span class="stat-of"> / ${p.target_completed}</span></div>
    ${progressBar(s.completed, p.target_completed, 'completed of target', p.target_reached ? 'good' : 'accent')}
  </div>
  <div class="stat"><div class="stat-label">In progress</div><div class="stat-value" data-field="started">${s.started}</div></div>
  <div class="stat"><div class="stat-label">Screened out</div><div class="stat-value" data-field="screened_out">${s.screened_out}</div></div>
  <div class="stat"><div class="stat-label">Abandoned</div><div class="stat-value" data-field="abandoned">${s.abandoned}</div>
    <form method="post" action="${base(p.id)}/sweep" class="stat-action"><button type="submit" class="btn btn-link" data-action="sweep">Check for idle sessions now</button></form></div>
  <div class="stat"><div class="stat-label" title="Participants whose device did not fit the study, sent back to Prolific before any session (they hold no slot); each counted once">Turned away: device</div><div class="stat-value" data-field="turned-away">${p.turned_away.total}</div>${
    p.turned_away.came_back > 0
      ? html`<div class="muted small" data-field="turned-away-back">${p.turned_away.came_back} came back on another device</div>`
      : ''
  }</div>
  <div class="stat"><div class="stat-label">Median time</div><div class="stat-value stat-value-small" data-field="median-duration">${formatDuration(p.median_duration_ms)}</div></div>
  <div class="stat"><div class="stat-label">Preview runs</div><div class="stat-value stat-value-small" data-field="preview">${p.preview_sessions}</div><div class="muted small">not counted</div></div>
</section>`;
}

function conditions(p: StudyProgress): SafeHtml {
  const rows = p.conditions.map(
    (c) => html`<tr>
  <th scope="row" class="cond">${conditionLabel(c.model, c.layer)}</th>
  <td class="num" data-field="cond-completed">${c.completed_trials}</td>
  <td class="num">${c.in_progress_trials}</td>
  <td class="num">${c.planned_at_target}</td>
  <td class="bar-cell">${progressBar(c.completed_trials, c.planned_at_target, `${c.label}: completed trials of plan`)}</td>
</tr>`,
  );
  // Every count here is of main trials, not sessions: the headers say so.
  return html`<section class="card card-flush" aria-labelledby="conditions-h">
  <div class="card-head"><h2 id="conditions-h">Conditions</h2><p class="muted small">Main trials stored per condition, against the Latin-square plan for ${p.target_completed} completed participants.</p></div>
  <div class="table-scroll"><table class="table table-compact" data-table="conditions">
    <thead><tr><th scope="col">Condition</th><th scope="col" class="num">Main trials from completed sessions</th><th scope="col" class="num">Main trials from sessions in progress</th><th scope="col" class="num">Main trials planned at target</th><th scope="col" class="bar-col">Completed of plan</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
</section>`;
}

function recognizability(v: StudyView): SafeHtml {
  const id = v.progress.id;
  let content: SafeHtml;
  if (v.analysisError) {
    content = flash('error', `The analysis could not run: ${v.analysisError}`);
  } else if (!v.analysis || v.analysis.result.exclusions.participants_included === 0) {
    content = html`<p class="empty-note">No participant is included yet. The table and figure appear with the first completed session.</p>`;
  } else {
    const a = v.analysis.result;
    const rows = a.table.map(
      (r) => html`<tr>
  <th scope="row" class="cond">${conditionLabel(r.model, r.layer)}</th>
  <td class="num">${r.n_participants}</td>
  <td class="num">${r.n_trials}</td>
  <td class="num"><span class="strong">${formatProportion(r.recognizability)}</span> <span class="muted">± ${formatProportion(r.sem)}</span></td>
  <td class="num nowrap">${r.ci_low === null ? '—' : html`${formatProportion(r.ci_low)}–${formatProportion(r.ci_high)}`}</td>
</tr>`,
    );
    const x = a.exclusions;
    const chance = a.table.find((r) => r.chance !== null)?.chance ?? null;
    content = html`<p class="muted small">${x.participants_included} of ${x.participants_total} participants included (exclusions from the study config). Mean ± SEM over participants; ${Math.round(a.options.ci_level * 100)}% percentile bootstrap CI, B = ${a.options.bootstrap}, seed ${a.options.seed}.${chance === null ? '' : ` Chance: ${formatProportion(chance)} (dashed line).`} Computed <time datetime="${isoTime(v.analysis.computedAt)}">${formatTime(v.analysis.computedAt)}</time>.</p>
<div class="analysis-grid">
  <div class="table-scroll"><table class="table table-compact table-analysis" data-table="recognizability">
    <thead><tr><th scope="col">Condition</th><th scope="col" class="num">Participants</th><th scope="col" class="num">Main trials</th><th scope="col" class="num">Recognizability ± SEM</th><th scope="col" class="num">${Math.round(a.options.ci_level * 100)}% CI</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
  <figure class="figure"><img src="${base(id)}/figure.svg?v=${v.analysis.version}" alt="Recognizability by layer for each model, with bootstrap confidence intervals and chance level"></figure>
</div>`;
  }
  return html`<section class="card" aria-labelledby="recog-h">
  <h2 id="recog-h">Recognizability</h2>
  ${content}
</section>`;
}

function sessions(v: StudyView): SafeHtml {
  const id = v.progress.id;
  const rows = v.sessions.map((s) => {
    const duration = s.finished_at !== null ? s.finished_at - s.started_at : null;
    return html`<tr>
  <td class="mono nowrap">${s.participant_id}${s.preview ? html` <span class="badge badge-preview">Preview</span>` : ''}</td>
  <td>${sessionBadge(s.state)}</td>
  <td class="flags-cell">${flagList(v.flags.get(s.id))}</td>
  <td class="num">${s.preview ? '—' : s.slot}</td>
  <td class="progress-cell"><div class="progress-label small">${s.answered} / ${s.n_trials}</div>${progressBar(s.answered, s.n_trials, 'trials stored', s.state === 'completed' ? 'good' : s.state === 'started' ? 'accent' : 'muted')}</td>
  <td><time datetime="${isoTime(s.started_at)}">${formatTime(s.started_at)}</time></td>
  <td><time datetime="${isoTime(s.last_activity_at)}">${formatTime(s.last_activity_at)}</time></td>
  <td class="num nowrap">${formatDuration(duration)}</td>
</tr>`;
  });
  const more =
    v.sessionsTotal > v.sessions.length
      ? html`<p class="muted small card-foot">Showing the ${v.sessions.length} most recent of ${v.sessionsTotal} sessions.</p>`
      : '';
  return html`<section class="card card-flush" aria-labelledby="sessions-h">
  <div class="card-head"><h2 id="sessions-h">Sessions</h2>
    <a class="btn btn-secondary btn-small" href="${base(id)}/payments">Payments (Prolific IDs)</a></div>
  ${
    v.sessions.length === 0
      ? html`<p class="empty-note card-pad">No sessions yet.</p>`
      : html`<div class="table-scroll"><table class="table table-compact" data-table="sessions">
    <thead><tr><th scope="col" title="Pseudonymous: a keyed hash of the Prolific ID">Participant</th><th scope="col">State</th>
      <th scope="col" title="Evidence to review before approving on Prolific (docs/integrity.md)">Quality flags</th>
      <th scope="col" class="num" title="Latin-square slot">Slot</th><th scope="col">Trials stored / planned</th><th scope="col">Started</th><th scope="col">Last activity</th>
      <th scope="col" class="num">Duration</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>${more}`
  }
</section>`;
}

function downloads(id: string): SafeHtml {
  const b = base(id);
  return html`<section class="card" aria-labelledby="downloads-h">
  <h2 id="downloads-h">Downloads</h2>
  <p class="muted small">Pseudonymous (participant ids are keyed hashes) and without preview runs. The same files come from <code>npx metamer export ${id}</code> and <code>npx metamer analyze ${id}</code>.</p>
  <div class="download-grid">
    <a class="download" href="${b}/trials.csv" download data-download="trials"><span class="download-title">Trials</span><span class="download-type">CSV</span></a>
    <a class="download" href="${b}/recognizability.csv" download data-download="recognizability-csv"><span class="download-title">Recognizability table</span><span class="download-type">CSV</span></a>
    <a class="download" href="${b}/recognizability.json" download data-download="recognizability-json"><span class="download-title">Recognizability table</span><span class="download-type">JSON</span></a>
    <a class="download" href="${b}/recognizability.md" download data-download="recognizability-md"><span class="download-title">Recognizability report</span><span class="download-type">Markdown</span></a>
    <a class="download" href="${b}/figure.svg" download data-download="figure"><span class="download-title">Figure</span><span class="download-type">SVG</span></a>
    <a class="download" href="${b}/psych-ds.zip" download data-download="psych-ds"><span class="download-title">Psych-DS dataset</span><span class="download-type">ZIP</span></a>
  </div>
</section>`;
}

export function studyBody(v: StudyView): SafeHtml {
  const statistics = statisticsSection(v.analysis?.result ?? null, v.progress.id);
  const prolific = prolificPanel(v.progress.id, v.prolific);
  return html`${stats(v.progress)}${conditions(v.progress)}${recognizability(v)}${statistics}${prolific}${sessions(v)}`;
}

export interface StudyPageNotice {
  kind: 'ok' | 'error' | 'info';
  text: string;
}

export function studyPage(bundle: DashboardBundle, v: StudyView, notice?: StudyPageNotice): string {
  const live = `${base(v.progress.id)}/live`;
  return page({
    title: v.progress.title,
    bundle,
    loggedIn: true,
    nav: 'studies',
    body: html`<div data-live="head" data-live-url="${live}" data-poll-ms="5000">${studyHead(v)}</div>
${notice ? flash(notice.kind, notice.text) : ''}
${recruitment(v.progress)}
<div data-live="body" data-live-url="${live}">${studyBody(v)}</div>
${downloads(v.progress.id)}
<p class="muted small live-note" data-live-status>Updated live.</p>`,
  });
}
