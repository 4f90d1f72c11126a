/**
 * The payments view: raw Prolific IDs of completed sessions, for approving submissions on Prolific,
 * each with its quality flags and their reasons (docs/integrity.md), so the decision rests on
 * evidence. The only page (with its CSV and `metamer study payments`) that shows the IDs (docs/design.md §7).
 */
import { stringify } from 'csv-stringify/sync';
import { describeFlags } from '../../analysis/quality-flags.ts';
import type { FlaggedPayment } from '../session-quality.ts';
import type { StudyRow } from '../store/store.ts';
import type { DashboardBundle } from './bundle.ts';
import { formatDuration, formatTime, isoTime } from './format.ts';
import { html } from './html.ts';
import { flagList } from './flag-list.ts';
import { page } from './layout.ts';

export const PAYMENT_COLUMNS = ['prolific_pid', 'prolific_study_id', 'prolific_session_id', 'completed_at', 'duration_s', 'flags'] as const;

export function paymentsCsv(rows: readonly FlaggedPayment[]): string {
  return stringify(
    rows.map((r) => [
      r.prolific_pid,
      r.prolific_study_id ?? '',
      r.prolific_session_id ?? '',
      isoTime(r.finished_at),
      Math.round((r.finished_at - r.started_at) / 1000),
      describeFlags(r.flags),
    ]),
    { header: true, columns: [...PAYMENT_COLUMNS] },
  );
}

export function paymentsPage(bundle: DashboardBundle, study: StudyRow, rows: readonly FlaggedPayment[]): string {
  const base = `/admin/studies/${encodeURIComponent(study.id)}`;
  const body = rows.map(
    (r) => html`<tr>
  <td class="mono" data-pid>${r.prolific_pid}</td>
  <td class="mono small">${r.prolific_session_id ?? '—'}</td>
  <td class="nowrap"><time datetime="${isoTime(r.finished_at)}">${formatTime(r.finished_at)}</time></td>
  <td class="num nowrap">${formatDuration(r.finished_at - r.started_at)}</td>
  <td class="flags-cell">${flagList(r.flags)}</td>
</tr>`,
  );
  return page({
    title: `Payments · ${study.id}`,
    bundle,
    loggedIn: true,
    nav: 'studies',
    body: html`<div class="page-head">
  <div>
    <div class="crumbs"><a href="/admin">Studies</a> <span aria-hidden="true">/</span> <a class="mono" href="${base}">${study.id}</a> <span aria-hidden="true">/</span> payments</div>
    <h1>Payments</h1>
    <p class="muted">${rows.length} completed ${rows.length === 1 ? 'submission' : 'submissions'} to approve on Prolific. Preview runs are not listed.</p>
  </div>
  <div class="actions">
    <a class="btn btn-secondary" href="${base}/prolific/approve" data-action="prolific-approve">Approve on Prolific…</a>
    <button type="button" class="btn btn-secondary" data-copy-all="[data-pid]">Copy all IDs</button>
    <a class="btn btn-primary" href="${base}/payments.csv" download data-download="payments">Download CSV</a>
  </div>
</div>
<div class="flash flash-warn" role="note"><strong>Personal data.</strong> Prolific IDs identify people. Use them to approve submissions; do not copy them into analysis files, which carry pseudonymous ids instead.</div>
<section class="card card-flush">
${
  rows.length === 0
    ? html`<p class="empty-note card-pad">No completed submissions yet.</p>`
    : html`<div class="table-scroll"><table class="table">
  <thead><tr><th scope="col">Prolific ID</th><th scope="col">Prolific session</th><th scope="col">Completed</th>
    <th scope="col" class="num">Duration</th><th scope="col">Quality flags</th></tr></thead>
  <tbody>${body}</tbody>
</table></div>`
}
</section>`,
  });
}
