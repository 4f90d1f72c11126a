/**
 * Approving on Prolific from the payments view, in two steps: choose (completed sessions awaiting
 * review, with their quality flags; unflagged ones pre-ticked), then confirm.
 * Only sessions that completed here are offered. Rejecting is not offered here: it needs a reason
 * written for the participant (`metamer prolific reject`, docs/prolific.md).
 *
 * Part of the payments view, so it also lists the Prolific IDs of submissions that have no
 * session here, for the experimenter to look up on Prolific.
 */
import type { ApprovalReport, Candidate } from '../prolific/review.ts';
import type { ProlificOverview, ReviewItem } from '../prolific/overview.ts';
import type { ProlificSubmissionRow } from '../store/prolific-store.ts';
import type { StudyRow } from '../store/store.ts';
import type { DashboardBundle } from './bundle.ts';
import { flagList } from './flag-list.ts';
import { formatTime, isoTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { flash, page } from './layout.ts';

const base = (id: string) => `/admin/studies/${encodeURIComponent(id)}`;

function shell(bundle: DashboardBundle, study: StudyRow, heading: string, body: SafeHtml): string {
  const b = base(study.id);
  const sep = html` <span aria-hidden="true">/</span> `;
  return page({
    title: `${heading} · ${study.id}`,
    bundle,
    loggedIn: true,
    nav: 'studies',
    body: html`<div class="page-head"><div>
  <div class="crumbs"><a href="/admin">Studies</a>${sep}<a class="mono" href="${b}">${study.id}</a>${sep}
    <a href="${b}/payments">payments</a>${sep}approve</div>
  <h1>${heading}</h1>
</div></div>
${body}`,
  });
}

function when(ms: number | null): SafeHtml | string {
  return ms === null ? '—' : html`<time datetime="${isoTime(ms)}">${formatTime(ms)}</time>`;
}

export interface ApprovePageData {
  overview: ProlificOverview;
  /** Submissions with no session here, with their raw Prolific IDs (personal data: this page only). */
  unmatched: readonly ProlificSubmissionRow[];
  error?: string;
}

function reviewForm(studyId: string, o: ProlificOverview): SafeHtml {
  if (o.review.length === 0) return html`<p class="empty-note card-pad">No completed session awaits review on Prolific.</p>`;
  const rows = o.review.map((r) => {
    const ticked = r.flags.length === 0 ? html` checked` : '';
    return html`<tr>
  <td><input type="checkbox" name="participant" value="${r.participant_id}" id="ap-${r.participant_id}"${ticked}></td>
  <td class="mono"><label for="ap-${r.participant_id}">${r.participant_id}</label></td>
  <td class="nowrap">${when(r.finished_at)}</td>
  <td>${flagList(r.flags)}</td>
</tr>`;
  });
  return html`<form method="post" action="${base(studyId)}/prolific/approve">
  <input type="hidden" name="step" value="confirm">
  <div class="table-scroll"><table class="table table-compact" data-table="review">
    <thead><tr><th scope="col" aria-label="Approve"></th><th scope="col">Participant</th><th scope="col">Completed</th>
      <th scope="col">Quality flags</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
  <p class="card-foot"><button type="submit" class="btn btn-primary" data-action="prolific-approve-continue">Continue</button></p>
</form>`;
}

function unmatchedTable(unmatched: readonly ProlificSubmissionRow[]): SafeHtml | string {
  if (unmatched.length === 0) return '';
  const rows = unmatched.map(
    (s) => html`<tr><td class="mono" data-pid>${s.prolific_pid}</td><td>${s.status}</td><td class="nowrap">${when(s.started_at)}</td></tr>`,
  );
  return html`<section class="card card-flush">
  <div class="card-head"><h2>On Prolific, no session here</h2>
    <p class="muted small">Personal data: Prolific IDs, to look these submissions up on Prolific.</p></div>
  <div class="table-scroll"><table class="table table-compact" data-table="unmatched">
    <thead><tr><th scope="col">Prolific ID</th><th scope="col">Status</th><th scope="col">Started</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
</section>`;
}

export function approvePage(bundle: DashboardBundle, study: StudyRow, d: ApprovePageData): string {
  const o = d.overview;
  if (!o.link) {
    return shell(
      bundle,
      study,
      'Approve on Prolific',
      html`<section class="card"><p>This study is not linked to a Prolific study yet. Link it from the
  <a href="${base(study.id)}#prolific">study page</a> or with
  <code>metamer prolific link ${study.id} &lt;prolific-study-id&gt;</code>.</p></section>`,
    );
  }
  const body = html`${d.error ? flash('error', d.error) : ''}
<div class="flash flash-warn" role="note"><strong>Approving pays the participant and cannot be undone.</strong>
  Only sessions that completed here (every planned trial stored) and await review on Prolific are listed.
  Statuses as of the last sync (${o.link.synced_at === null ? 'never' : when(o.link.synced_at)}); approving syncs again first.
  To reject, give the participant a reason with <code>metamer prolific reject</code>.</div>
<section class="card card-flush">
  <div class="card-head"><h2>Awaiting your review</h2><p class="muted small">Unflagged sessions are ticked; flagged ones are yours to decide.</p></div>
  ${reviewForm(study.id, o)}
</section>
${unmatchedTable(d.unmatched)}`;
  return shell(bundle, study, 'Approve on Prolific', body);
}

export function confirmPage(bundle: DashboardBundle, study: StudyRow, chosen: readonly ReviewItem[]): string {
  const b = base(study.id);
  const n = chosen.length;
  return shell(
    bundle,
    study,
    'Confirm the approvals',
    html`<section class="card">
  <p>Approve <strong data-field="confirm-count">${n}</strong> ${n === 1 ? 'submission' : 'submissions'} on Prolific?
    Each participant is paid; this cannot be undone.</p>
  <ul>${chosen.map((r) => html`<li><span class="mono">${r.participant_id}</span> — flags: ${flagList(r.flags)}</li>`)}</ul>
  <form method="post" action="${b}/prolific/approve">
    <input type="hidden" name="step" value="approve">
    ${chosen.map((r) => html`<input type="hidden" name="participant" value="${r.participant_id}">`)}
    <div class="actions">
      <button type="submit" class="btn btn-primary" data-action="prolific-approve-confirm">Approve ${n} on Prolific</button>
      <a class="btn btn-secondary" href="${b}/prolific/approve">Back</a></div>
  </form>
</section>`,
  );
}

export function resultPage(bundle: DashboardBundle, study: StudyRow, r: ApprovalReport): string {
  const b = base(study.id);
  const list = (items: readonly Candidate[]) => html`<ul>${items.map((c) => html`<li class="mono">${c.participant_id}</li>`)}</ul>`;
  const failed = r.failed.map((f) => html`<li><span class="mono">${f.participant_id}</span>: ${f.error}</li>`);
  const summary = `Approved ${r.approved.length} on Prolific${r.failed.length ? `; ${r.failed.length} failed` : ''}.`;
  return shell(
    bundle,
    study,
    'Approvals sent',
    html`${flash(r.failed.length ? 'error' : 'ok', summary)}
<section class="card">
  ${r.approved.length ? html`<h2>Approved</h2>${list(r.approved)}` : ''}
  ${r.failed.length ? html`<h2>Failed</h2><ul>${failed}</ul>` : ''}
  <p><a class="btn btn-secondary" href="${b}/payments">Back to payments</a>
    <a class="btn btn-secondary" href="${b}/prolific/approve">Approve more</a></p>
</section>`,
  );
}
