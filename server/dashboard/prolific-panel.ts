/**
 * The study page's Prolific panel: what `metamer prolific sync` reports, from what is stored (the
 * page refreshes it live; only "Sync now" calls Prolific). Pseudonymous like the rest of the page:
 * sessions by participant id; submissions with no session here by status and time only (their
 * Prolific IDs are on the payments view's approval page).
 */
import type { ProlificOverview, SessionRef } from '../prolific/overview.ts';
import { mismatchCount } from '../prolific/overview.ts';
import { formatTime, isoTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';

const base = (id: string) => `/admin/studies/${encodeURIComponent(id)}`;

const REASONS: Record<string, string> = { prolific_returned: 'returned', prolific_timed_out: 'timed out', prolific_rejected: 'rejected' };

function when(ms: number | null): SafeHtml | string {
  return ms === null ? '—' : html`<time datetime="${isoTime(ms)}">${formatTime(ms)}</time>`;
}

const MISMATCHES: [keyof ProlificOverview['mismatches'], string][] = [
  ['completed_without_submission', 'completed here, no submission on Prolific'],
  ['completed_ended_there', 'completed here, ended otherwise on Prolific'],
  ['claimed_without_completing', 'awaiting review or approved on Prolific, not completed here'],
  ['screened_out_awaiting_review', 'screened out here, awaiting review on Prolific'],
  ['idle_here_active_there', 'abandoned here (idle), still active on Prolific'],
];

function sessionList(key: string, label: string, list: readonly SessionRef[]): SafeHtml | string {
  if (list.length === 0) return '';
  const items = list.map(
    (s) => html`<li><span class="mono">${s.participant_id}</span>
  <span class="muted">${s.state} here, ${s.prolific_status ?? 'no submission'} on Prolific</span></li>`,
  );
  return html`<details class="prolific-mismatch" data-mismatch="${key}">
  <summary><strong>${list.length}</strong> ${label}</summary>
  <ul class="small">${items}</ul>
</details>`;
}

function linkForm(studyId: string): SafeHtml {
  return html`<form method="post" action="${base(studyId)}/prolific/link" class="copy-row">
  <input name="prolific_study_id" class="mono" placeholder="Prolific study id" aria-label="Prolific study id"
    required pattern="[A-Za-z0-9]{1,64}">
  <button type="submit" class="btn btn-secondary" data-action="prolific-link">Link</button>
</form>`;
}

function unlinked(studyId: string, o: ProlificOverview): SafeHtml {
  const body = o.token_set
    ? html`<p class="muted small">Link this study to its Prolific study to keep submissions and sessions in step
  and approve from here.</p>${linkForm(studyId)}`
    : html`<p class="muted small" data-field="prolific-not-set-up">Not connected: set <code>PROLIFIC_API_TOKEN</code>
  on the server to link this study to Prolific (docs/prolific.md).</p>`;
  return html`<section class="card" id="prolific" aria-labelledby="prolific-h" data-prolific="unlinked">
<h2 id="prolific-h">Prolific</h2>${body}</section>`;
}

function review(studyId: string, o: ProlificOverview): SafeHtml {
  const n = o.review.length;
  return html`<p class="small"><strong data-field="prolific-review">${n}</strong> completed
  ${n === 1 ? 'session awaits' : 'sessions await'} your review on Prolific.
  <a href="${base(studyId)}/prolific/approve">Review and approve</a></p>`;
}

export function prolificPanel(studyId: string, o: ProlificOverview | null | undefined): SafeHtml | string {
  if (!o) return '';
  if (!o.link) return unlinked(studyId, o);
  const counts = Object.entries(o.status_counts);
  const released = Object.entries(o.released).map(([r, n]) => `${REASONS[r] ?? r} ${n}`);
  const m = o.mismatches;
  const events = o.webhook_secret_set ? 'received (webhook)' : html`<span class="muted">not set up: sync by hand</span>`;
  const chips = counts.map(([s, n]) => html`<span class="chip" data-status="${s}">${s} ${n}</span> `);
  const strangers = m.submissions_without_session.length;
  return html`<section class="card" id="prolific" aria-labelledby="prolific-h" data-prolific="linked">
<h2 id="prolific-h">Prolific</h2>
<dl class="facts">
  <div><dt>Prolific study</dt><dd><code data-field="prolific-study">${o.link.prolific_study_id}</code></dd></div>
  <div><dt>Last sync</dt><dd data-field="prolific-synced">${when(o.link.synced_at)}</dd></div>
  <div><dt>Status events</dt><dd>${events}</dd></div>
  <div><dt>Approved</dt><dd data-field="prolific-approved">${o.approved}</dd></div>
</dl>
${counts.length ? html`<p class="small">On Prolific: ${chips}</p>` : html`<p class="empty-note">No submissions seen yet: sync.</p>`}
${
  released.length
    ? html`<p class="small" data-field="prolific-released">Slots given back because Prolific ended the submission:
  ${released.join(', ')}</p>`
    : ''
}
${review(studyId, o)}
${MISMATCHES.map(([key, label]) => sessionList(key, label, m[key] as SessionRef[]))}
${
  strangers
    ? html`<p class="small" data-mismatch="submissions_without_session"><strong>${strangers}</strong> on Prolific with no session here
  (Prolific IDs on the <a href="${base(studyId)}/prolific/approve">approval page</a>).</p>`
    : ''
}
${mismatchCount(o) === 0 && counts.length ? html`<p class="small muted" data-field="prolific-in-step">No mismatches.</p>` : ''}
${o.not_started_here ? html`<p class="small muted">${o.not_started_here} on Prolific have not opened the study here yet.</p>` : ''}
${
  o.token_set
    ? html`<form method="post" action="${base(studyId)}/prolific/sync">
  <button type="submit" class="btn btn-secondary btn-small" data-action="prolific-sync">Sync now</button></form>`
    : html`<p class="muted small">Set <code>PROLIFIC_API_TOKEN</code> on the server to sync.</p>`
}
</section>`;
}
