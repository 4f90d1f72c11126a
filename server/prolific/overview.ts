/**
 * What the experimenter sees of the Prolific loop, for one study: the CLI's `sync` report and the
 * dashboard's Prolific panel are both this view. Pseudonymous: sessions appear by participant id
 * (a keyed hash), submissions with no session here by their status and times only; their Prolific
 * IDs are on the payments view.
 */
import type { AbandonReason, ProlificLink, ProlificSubmissionRow } from '../store/prolific-store.ts';
import type { Store } from '../store/store.ts';
import { type QualityFlag, sessionFlags } from './quality-flags.ts';
import { type Pair, type Reconciliation, reconcile } from './reconcile.ts';
import { prolificToken, webhookSecret } from './settings.ts';

export interface SessionRef {
  participant_id: string;
  state: string;
  /** Prolific's status of its submission, when there is one. */
  prolific_status: string | null;
  finished_at: number | null;
}

export interface ReviewItem extends SessionRef {
  flags: QualityFlag[];
}

export interface SubmissionRef {
  prolific_status: string;
  started_at: number | null;
  completed_at: number | null;
}

export interface ProlificOverview {
  token_set: boolean;
  webhook_secret_set: boolean;
  link: ProlificLink | null;
  status_counts: Record<string, number>;
  /** Sessions Prolific's status has released, by reason (returned, timed out, rejected). */
  released: Partial<Record<AbandonReason, number>>;
  /** Completed here, awaiting review there, with their quality flags. */
  review: ReviewItem[];
  approved: number;
  mismatches: {
    completed_without_submission: SessionRef[];
    completed_ended_there: SessionRef[];
    claimed_without_completing: SessionRef[];
    screened_out_awaiting_review: SessionRef[];
    idle_here_active_there: SessionRef[];
    submissions_without_session: SubmissionRef[];
  };
  not_started_here: number;
}

function ref(p: Pair | { session: Pair['session']; submission?: undefined }): SessionRef {
  return {
    participant_id: p.session.participant_id,
    state: p.session.state,
    prolific_status: p.submission?.status ?? null,
    finished_at: p.session.finished_at,
  };
}

const submissionRef = (s: ProlificSubmissionRow): SubmissionRef => ({
  prolific_status: s.status,
  started_at: s.started_at,
  completed_at: s.completed_at,
});

/** `withFlags: false` leaves the review list's flags empty (the study page shows only how many await review). */
export async function prolificOverview(store: Store, studyId: string, rec: Reconciliation, withFlags = true): Promise<ProlificOverview> {
  const link = (await store.prolificLink(studyId)) ?? null;
  const released: Partial<Record<AbandonReason, number>> = {};
  for (const s of link ? await store.prolificSessions(studyId) : []) {
    if (s.state === 'abandoned' && s.abandon_reason && s.abandon_reason !== 'idle')
      released[s.abandon_reason] = (released[s.abandon_reason] ?? 0) + 1;
  }
  const flags = await sessionFlags(store, studyId, withFlags && rec.awaitingReview.length > 0);
  return {
    token_set: prolificToken() !== undefined,
    webhook_secret_set: webhookSecret() !== undefined,
    link,
    status_counts: rec.statusCounts,
    released,
    review: rec.awaitingReview.map((p) => ({ ...ref(p), flags: flags(p.session) })),
    approved: rec.approved.length,
    mismatches: {
      completed_without_submission: rec.completedWithoutSubmission.map((session) => ref({ session })),
      completed_ended_there: rec.completedEndedThere.map(ref),
      claimed_without_completing: rec.claimedWithoutCompleting.map(ref),
      screened_out_awaiting_review: rec.screenedOutAwaitingReview.map(ref),
      idle_here_active_there: rec.idleHereActiveThere.map(ref),
      submissions_without_session: rec.submissionsWithoutSession.map(submissionRef),
    },
    not_started_here: rec.notStartedHere.length,
  };
}

/** Mismatches of every kind, counted. */
export function mismatchCount(o: ProlificOverview): number {
  return Object.values(o.mismatches).reduce((n, list) => n + list.length, 0);
}

/** The overview from what is stored (no call to Prolific): the dashboard renders this on every refresh. */
export async function storedOverview(store: Store, studyId: string, withFlags = true): Promise<ProlificOverview> {
  // Most studies are not linked: their panel needs no reconciliation (the page refreshes every 5 s).
  if (!(await store.prolificLink(studyId))) return prolificOverview(store, studyId, reconcile([], []), false);
  const rec = reconcile(await store.prolificSessions(studyId), await store.prolificSubmissions(studyId));
  return prolificOverview(store, studyId, rec, withFlags);
}
