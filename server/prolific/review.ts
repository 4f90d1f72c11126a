/**
 * Decisions on Prolific submissions, always asked for by a person (docs/prolific.md):
 *
 * - approve: only sessions that completed here (every planned trial stored) and whose submission
 *   awaits review on Prolific; named one by one, or all those without a quality flag at once. A session that did not complete here is never approved.
 * - reject: one named submission, with Prolific's rejection category and a message of at least
 *   100 characters. Nothing here ever rejects on its own.
 * - return request: one named submission that is still active on Prolific.
 *
 * Each decision first refreshes the study from Prolific (a sync), so it acts on current statuses.
 */
import { userError } from '../http-error.ts';
import type { Store } from '../store/store.ts';
import { MIN_REJECTION_MESSAGE, type ProlificClient, ProlificApiError, REJECTION_CATEGORIES, type RejectionCategory } from './client.ts';
import { type QualityFlag, sessionFlags } from './quality-flags.ts';
import type { Pair, Reconciliation } from './reconcile.ts';
import { inProgress } from './submission-status.ts';
import { applyReconciliation, syncStudy } from './sync.ts';

export interface ApprovalSelection {
  /** Pseudonymous participant ids, as the dashboard and exports show them. */
  participants?: readonly string[];
  /** Every awaiting-review session without a quality flag. */
  allUnflagged?: boolean;
  dryRun?: boolean;
}

export interface Candidate {
  participant_id: string;
  flags: QualityFlag[];
}

export interface ApprovalReport {
  dry_run: boolean;
  /** Approved now (or, in a dry run, that would be). */
  approved: Candidate[];
  /** Awaiting review, not chosen (flagged, or not named): left for a person. */
  left: Candidate[];
  failed: (Candidate & { error: string })[];
}

/** Which awaiting-review sessions a selection picks; a named participant who cannot be approved is an error. */
export function chooseApprovals(
  rec: Reconciliation,
  flagsOf: (p: Pair) => QualityFlag[],
  sel: ApprovalSelection,
): { chosen: Pair[]; left: Pair[] } {
  const named = new Set(sel.participants ?? []);
  if (named.size === 0 && !sel.allUnflagged) throw userError('name the participants to approve, or use --all-unflagged', 422);
  const candidates = new Map(rec.awaitingReview.map((p) => [p.session.participant_id, p]));
  const problems: string[] = [];
  for (const id of named) {
    if (candidates.has(id)) continue;
    problems.push(`${id}: ${whyNotApprovable(rec, id)}`);
  }
  if (problems.length > 0) throw userError(`cannot approve — ${problems.join('; ')}`);
  const chosen: Pair[] = [];
  const left: Pair[] = [];
  for (const p of rec.awaitingReview) {
    if (named.has(p.session.participant_id) || (sel.allUnflagged && flagsOf(p).length === 0)) chosen.push(p);
    else left.push(p);
  }
  return { chosen, left };
}

function whyNotApprovable(rec: Reconciliation, participantId: string): string {
  const p = pairOf(rec, participantId);
  if (p) {
    return p.session.state === 'completed'
      ? `its submission is ${p.submission.status} on Prolific, not awaiting review`
      : `the session did not complete here (${p.session.state})`;
  }
  if (rec.completedWithoutSubmission.some((s) => s.participant_id === participantId)) return 'Prolific has no submission for it';
  return 'no completed session with a submission awaiting review';
}

export async function approveSubmissions(
  store: Store,
  client: ProlificClient,
  studyId: string,
  sel: ApprovalSelection,
  now = Date.now,
): Promise<ApprovalReport> {
  const { reconciliation: rec } = await syncStudy(store, client, studyId, now);
  const flags = await sessionFlags(store, studyId, rec.awaitingReview.length > 0);
  const flagsOf = (p: Pair) => flags(p.session);
  const { chosen, left } = chooseApprovals(rec, flagsOf, sel);
  const candidate = (p: Pair): Candidate => ({ participant_id: p.session.participant_id, flags: flagsOf(p) });
  const report: ApprovalReport = {
    dry_run: !!sel.dryRun,
    approved: [],
    left: left.map(candidate),
    failed: [],
  };
  for (const p of chosen) {
    if (sel.dryRun) {
      report.approved.push(candidate(p));
      continue;
    }
    try {
      const after = await client.approve(p.submission.submission_id);
      await store.recordProlificSubmission({ ...p.submission, status: after.status, status_at: now() });
      report.approved.push(candidate(p));
    } catch (e) {
      if (!(e instanceof ProlificApiError)) throw e;
      report.failed.push({ ...candidate(p), error: e.message });
    }
  }
  return report;
}

function pairOf(rec: Reconciliation, participantId: string): Pair | undefined {
  return rec.matched.find((p) => p.session.participant_id === participantId);
}

export interface RejectRequest {
  participant: string;
  category: string;
  message: string;
  dryRun?: boolean;
}

export function checkRejection(r: Pick<RejectRequest, 'category' | 'message'>): RejectionCategory {
  const category = r.category.trim().toUpperCase() as RejectionCategory;
  if (!REJECTION_CATEGORIES.includes(category)) throw userError(`--category must be one of ${REJECTION_CATEGORIES.join(', ')}`);
  const length = r.message.trim().length;
  if (length < MIN_REJECTION_MESSAGE) {
    throw userError(
      `--message must be at least ${MIN_REJECTION_MESSAGE} characters (Prolific's rule; it is sent to the participant), not ${length}`,
    );
  }
  return category;
}

/** Rejects one submission awaiting review, with the reason a person gave. */
export async function rejectSubmission(
  store: Store,
  client: ProlificClient,
  studyId: string,
  r: RejectRequest,
  now = Date.now,
): Promise<{ participant_id: string; status: string; dry_run: boolean }> {
  const category = checkRejection(r);
  const { reconciliation: rec } = await syncStudy(store, client, studyId, now);
  const p = pairOf(rec, r.participant);
  if (!p) throw userError(`${r.participant}: no session of study ${studyId} with a submission on Prolific`);
  if (p.submission.status !== 'AWAITING REVIEW')
    throw userError(`${r.participant}: the submission is ${p.submission.status} on Prolific; only one awaiting review can be rejected`);
  if (r.dryRun) return { participant_id: r.participant, status: p.submission.status, dry_run: true };
  const after = await client.reject(p.submission.submission_id, category, r.message.trim());
  await store.recordProlificSubmission({ ...p.submission, status: after.status, status_at: now() });
  // A rejected submission's place goes back to Prolific; a session still open here gives its slot back too.
  await applyReconciliation(store, studyId);
  return { participant_id: r.participant, status: after.status, dry_run: false };
}

/** Asks the participant of one submission still active on Prolific to return it. */
export async function requestReturn(
  store: Store,
  client: ProlificClient,
  studyId: string,
  r: { participant: string; reasons: readonly string[]; dryRun?: boolean },
  now = Date.now,
): Promise<{ participant_id: string; dry_run: boolean }> {
  const reasons = r.reasons.map((x) => x.trim()).filter(Boolean);
  if (reasons.length === 0) throw userError('give at least one --reason (it is shown to the participant)');
  const { reconciliation: rec } = await syncStudy(store, client, studyId, now);
  const p = pairOf(rec, r.participant);
  if (!p) throw userError(`${r.participant}: no session of study ${studyId} with a submission on Prolific`);
  if (!inProgress(p.submission.status) || p.session.state === 'completed') {
    throw userError(
      `${r.participant}: a return can be asked only of a submission still active on Prolific for a session not completed here ` +
        `(it is ${p.submission.status}, ${p.session.state} here)`,
    );
  }
  if (!r.dryRun) await client.requestReturn(p.submission.submission_id, reasons);
  return { participant_id: r.participant, dry_run: !!r.dryRun };
}
