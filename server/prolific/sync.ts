/**
 * Keeping sessions and Prolific submissions in step. `syncStudy` lists the linked study's
 * submissions on Prolific, stores their status and applies the reconciliation; the webhook stores
 * one status and applies the same reconciliation (`applyReconciliation`). Applying it only ever
 * releases slots: a session whose submission Prolific ended (returned, timed out, rejected) and
 * that has not completed here becomes abandoned for that reason, and the next participant gets
 * its Latin-square slot. Everything else the reconciliation finds is reported for a person to
 * decide (docs/prolific.md).
 */
import { userError } from '../http-error.ts';
import type { ProlificAbandonReason, ProlificLink, ProlificSubmissionRow } from '../store/prolific-store.ts';
import type { Store } from '../store/store.ts';
import type { ProlificClient } from './client.ts';
import { type Reconciliation, reconcile } from './reconcile.ts';

export interface Released {
  participant_id: string;
  slot: number;
  reason: ProlificAbandonReason;
}

export interface Applied {
  /** Sessions this call released (a second call releases nothing more). */
  released: Released[];
  /** The reconciliation after the releases. */
  reconciliation: Reconciliation;
}

export async function requireLink(store: Store, studyId: string): Promise<ProlificLink> {
  if (!(await store.getStudy(studyId))) throw userError(`no study "${studyId}" (see metamer study list)`, 404);
  const link = await store.prolificLink(studyId);
  if (!link)
    throw userError(`study ${studyId} is not linked to a Prolific study (metamer prolific link ${studyId} <prolific-study-id>)`, 409);
  return link;
}

/** Reconciles the stored sessions and submission statuses of a study and releases what Prolific ended. */
export async function applyReconciliation(store: Store, studyId: string): Promise<Applied> {
  const before = reconcile(await store.prolificSessions(studyId), await store.prolificSubmissions(studyId));
  const released: Released[] = [];
  for (const r of before.releases) {
    if (await store.abandonSessionForProlific(r.session.id, r.reason)) {
      released.push({ participant_id: r.session.participant_id, slot: r.session.slot, reason: r.reason });
    }
  }
  const reconciliation =
    released.length === 0 ? before : reconcile(await store.prolificSessions(studyId), await store.prolificSubmissions(studyId));
  return { released, reconciliation };
}

export interface SyncResult extends Applied {
  link: ProlificLink;
  /** Submissions listed on Prolific. */
  listed: number;
  synced_at: number;
}

export async function syncStudy(store: Store, client: ProlificClient, studyId: string, now = Date.now): Promise<SyncResult> {
  const link = await requireLink(store, studyId);
  // The listing's statuses are as of its start: a webhook event that lands while it runs is newer.
  const startedAt = now();
  const rows = (await client.listSubmissions(link.prolific_study_id)).map(
    (s): ProlificSubmissionRow => ({
      submission_id: s.id,
      study_id: studyId,
      prolific_pid: s.prolific_pid,
      status: s.status,
      status_at: startedAt,
      started_at: s.started_at,
      completed_at: s.completed_at,
    }),
  );
  await store.saveProlificListing(studyId, rows, startedAt);
  const applied = await applyReconciliation(store, studyId);
  return { ...applied, link: { ...link, synced_at: startedAt }, listed: rows.length, synced_at: startedAt };
}
