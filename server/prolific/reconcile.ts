/**
 * Sessions here against submissions on Prolific: a pure function, so `metamer prolific sync`, the
 * webhook and the dashboard's panel all reconcile the same way.
 *
 * A submission is matched to a session by the submission id the participant arrived with
 * (Prolific's SESSION_ID, stored as `prolific_session_id`), else by the Prolific participant id.
 * When one session matches several submissions (a participant given a second place), the one
 * with its SESSION_ID wins, else the latest started.
 */
import type { ProlificAbandonReason, ProlificSessionRow, ProlificSubmissionRow } from '../store/prolific-store.ts';
import { claimsCompletion, inProgress, releaseReason } from './submission-status.ts';

export interface Pair {
  session: ProlificSessionRow;
  submission: ProlificSubmissionRow;
}

export interface Release extends Pair {
  reason: ProlificAbandonReason;
}

export interface Reconciliation {
  /** Prolific ended these submissions while the session here still holds (or could take back) its slot. */
  releases: Release[];
  /** Completed here, awaiting the experimenter's review on Prolific: the approval candidates. */
  awaitingReview: Pair[];
  /** Completed here and approved (or partly approved) there. */
  approved: Pair[];
  /** Completed here; Prolific has no submission for it. */
  completedWithoutSubmission: ProlificSessionRow[];
  /** Completed here, but returned, timed out, rejected or screened out there. */
  completedEndedThere: Pair[];
  /** Awaiting review or approved there, but not completed here (started, abandoned): no complete data. */
  claimedWithoutCompleting: Pair[];
  /** Screened out here, awaiting review there (a screen-out code that asks for review). */
  screenedOutAwaitingReview: Pair[];
  /** Abandoned here for inactivity, still active on Prolific: candidates for a return request. */
  idleHereActiveThere: Pair[];
  /** Submissions claiming completion there with no session here at all. */
  submissionsWithoutSession: ProlificSubmissionRow[];
  /** Submissions in progress there that have not opened the study here (yet). */
  notStartedHere: ProlificSubmissionRow[];
  /** Every session with its (current) submission, whatever their states. */
  matched: Pair[];
  /** Submissions per Prolific status (every submission, matched or not). */
  statusCounts: Record<string, number>;
}

function newer(a: ProlificSubmissionRow, b: ProlificSubmissionRow): boolean {
  return (a.started_at ?? 0) !== (b.started_at ?? 0) ? (a.started_at ?? 0) > (b.started_at ?? 0) : a.status_at > b.status_at;
}

export function reconcile(sessions: readonly ProlificSessionRow[], submissions: readonly ProlificSubmissionRow[]): Reconciliation {
  const bySubmissionId = new Map<string, ProlificSessionRow>();
  const byPid = new Map<string, ProlificSessionRow>();
  for (const s of sessions) {
    if (s.prolific_session_id) bySubmissionId.set(s.prolific_session_id, s);
    byPid.set(s.prolific_pid, s);
  }
  const r: Reconciliation = {
    releases: [],
    awaitingReview: [],
    approved: [],
    completedWithoutSubmission: [],
    completedEndedThere: [],
    claimedWithoutCompleting: [],
    screenedOutAwaitingReview: [],
    idleHereActiveThere: [],
    submissionsWithoutSession: [],
    notStartedHere: [],
    matched: [],
    statusCounts: {},
  };
  const primary = new Map<string, { sub: ProlificSubmissionRow; byId: boolean }>();
  for (const sub of submissions) {
    r.statusCounts[sub.status] = (r.statusCounts[sub.status] ?? 0) + 1;
    const byId = bySubmissionId.get(sub.submission_id);
    const session = byId ?? byPid.get(sub.prolific_pid);
    if (!session) {
      if (claimsCompletion(sub.status) || sub.status === 'SCREENED OUT') r.submissionsWithoutSession.push(sub);
      else if (inProgress(sub.status)) r.notStartedHere.push(sub);
      continue;
    }
    const current = primary.get(session.id);
    if (!current || (!current.byId && (byId !== undefined || newer(sub, current.sub))))
      primary.set(session.id, { sub, byId: byId !== undefined });
  }
  for (const session of sessions) {
    const submission = primary.get(session.id)?.sub;
    if (!submission) {
      if (session.state === 'completed') r.completedWithoutSubmission.push(session);
      continue;
    }
    const pair = { session, submission };
    r.matched.push(pair);
    const reason = releaseReason(submission.status);
    if (session.state === 'completed') {
      if (submission.status === 'AWAITING REVIEW') r.awaitingReview.push(pair);
      else if (claimsCompletion(submission.status)) r.approved.push(pair);
      else if (reason || submission.status === 'SCREENED OUT') r.completedEndedThere.push(pair);
    } else if (session.state === 'screened_out') {
      if (claimsCompletion(submission.status)) r.screenedOutAwaitingReview.push(pair);
    } else if (reason) {
      // A started session, or one the idle timer abandoned (a late trial would revive it).
      if (session.state === 'started' || session.abandon_reason === 'idle' || session.abandon_reason === null)
        r.releases.push({ ...pair, reason });
    } else if (claimsCompletion(submission.status)) {
      r.claimedWithoutCompleting.push(pair);
    } else if (session.state === 'abandoned' && inProgress(submission.status)) {
      r.idleHereActiveThere.push(pair);
    }
  }
  return r;
}
