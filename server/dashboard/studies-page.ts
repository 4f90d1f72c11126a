/** The dashboard's home: every study with its status and how far it has got. */
import type { SessionCounts, StudyRow } from '../store/store.ts';
import type { DashboardBundle } from './bundle.ts';
import { formatTime, isoTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { flash, page, progressBar, statusBadge } from './layout.ts';

export interface StudyListItem {
  study: StudyRow;
  counts: SessionCounts;
}

export function studiesTable(items: readonly StudyListItem[]): SafeHtml {
  if (items.length === 0) {
    return html`<div class="empty card">
  <h2>No studies yet</h2>
  <p>Import a stimulus set (<code>npx metamer stimuli import &lt;dir&gt; --name &lt;set&gt;</code>), then create a study from it.</p>
  <p><a class="btn btn-primary" href="/admin/studies/new">New study</a></p>
</div>`;
  }
  const rows = items.map(({ study, counts }) => {
    const c = study.config;
    const reached = counts.completed >= c.target_completed;
    return html`<tr data-study="${study.id}">
  <td class="study-cell"><a class="study-link" href="/admin/studies/${encodeURIComponent(study.id)}">${c.title ?? study.id}</a><div class="muted small"><span class="mono">${study.id}</span> · created <time datetime="${isoTime(study.created_at)}">${formatTime(study.created_at)}</time></div></td>
  <td>${statusBadge(study.status)}${reached ? html` <span class="badge badge-target">Target reached</span>` : ''}</td>
  <td class="progress-cell">
    <div class="progress-label"><strong data-field="completed">${counts.completed}</strong> / ${c.target_completed}</div>
    ${progressBar(counts.completed, c.target_completed, `${study.id}: completed of target`, reached ? 'good' : 'accent')}
  </td>
  <td class="num">${counts.started}</td>
  <td class="num">${counts.screened_out}</td>
  <td class="num">${counts.abandoned}</td>
  <td class="nowrap"><span class="chip">${c.modality}</span> ${study.set_name}</td>
</tr>`;
  });
  return html`<div class="card card-flush"><div class="table-scroll"><table class="table">
  <thead><tr><th scope="col">Study</th><th scope="col">Status</th><th scope="col">Completed / target</th><th scope="col" class="num">In progress</th><th scope="col" class="num">Screened out</th><th scope="col" class="num">Abandoned</th><th scope="col">Stimulus set</th></tr></thead>
  <tbody>${rows}</tbody>
</table></div></div>`;
}

export function studiesPage(bundle: DashboardBundle, items: readonly StudyListItem[], notice?: string): string {
  return page({
    title: 'Studies',
    bundle,
    loggedIn: true,
    nav: 'studies',
    body: html`<div class="page-head">
  <div><h1>Studies</h1><p class="muted">Live counts refresh on their own every few seconds.</p></div>
  <div class="actions"><a class="btn btn-primary" href="/admin/studies/new">New study</a></div>
</div>
${notice ? flash('ok', notice) : ''}
<div data-live="list" data-live-url="/admin/live" data-poll-ms="5000">${studiesTable(items)}</div>`,
  });
}
