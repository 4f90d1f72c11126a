/**
 * The Prolific closed loop's storage on SQLite (migration 6; docs/prolific.md): study links,
 * Prolific's last known status of each submission, webhook events already applied, sessions
 * released because Prolific ended their submission, and the bonus ledger. `SqliteStore` delegates
 * its Prolific methods here, one line each, as it does for stimulus sets.
 *
 * Raw Prolific IDs (participant ids, submission ids) stay inside these tables and the payments
 * view; nothing here is logged.
 */
import type { SessionState } from '../../experiment/contract.ts';
import { userError } from '../http-error.ts';
import type { Db } from './database.ts';

/** Why a session was abandoned: the idle timer (a late trial revives it) or Prolific ending its submission. */
export type AbandonReason = 'idle' | 'prolific_returned' | 'prolific_timed_out' | 'prolific_rejected';
export type ProlificAbandonReason = Exclude<AbandonReason, 'idle'>;

export interface ProlificLink {
  study_id: string;
  prolific_study_id: string;
  linked_at: number;
  /** The last complete listing of the study's submissions (null before the first sync). */
  synced_at: number | null;
}

/** Prolific's last known word on one submission. */
export interface ProlificSubmissionRow {
  submission_id: string;
  study_id: string;
  prolific_pid: string;
  /** Normalised Prolific status, e.g. `AWAITING REVIEW`, `TIMED-OUT` (prolific/submission-status.ts). */
  status: string;
  /** When Prolific said so: the webhook's timestamp or the time the listing started (unix ms). */
  status_at: number;
  started_at: number | null;
  completed_at: number | null;
}

/** A session as the reconciliation sees it: with its raw Prolific IDs, for matching inside the server only. */
export interface ProlificSessionRow {
  id: string;
  participant_id: string;
  prolific_pid: string;
  prolific_session_id: string | null;
  slot: number;
  state: SessionState;
  abandon_reason: AbandonReason | null;
  started_at: number;
  finished_at: number | null;
}

export interface WebhookEventRecord {
  event_id: string;
  signature_hash: string;
  received_at: number;
  outcome: string;
}

/**
 * A bulk bonus's life: `intent` (recorded before Prolific hears of it), `set_up` (Prolific's
 * set-up id recorded), `paying` (recorded just before the pay call is sent: from here on the
 * payment may have happened), `paid` (Prolific accepted the pay call, or showed the bonuses paid).
 */
export type BonusRunState = 'intent' | 'set_up' | 'paying' | 'paid';

export interface BonusRunRow {
  id: number;
  study_id: string;
  batch: string;
  state: BonusRunState;
  setup_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface BonusItemRow {
  study_id: string;
  batch: string;
  session_id: string;
  run_id: number;
  submission_id: string;
  amount_cents: number;
}

export type NewBonusItem = Pick<BonusItemRow, 'session_id' | 'submission_id' | 'amount_cents'>;

export function linkProlificStudy(db: Db, studyId: string, prolificStudyId: string, at: number): ProlificLink {
  const other = db
    .prepare('SELECT study_id FROM prolific_links WHERE prolific_study_id = ? AND study_id <> ?')
    .pluck()
    .get(prolificStudyId, studyId) as string | undefined;
  if (other) throw userError(`Prolific study ${prolificStudyId} is already linked to study "${other}"`, 409);
  db.prepare(
    `INSERT INTO prolific_links (study_id, prolific_study_id, linked_at) VALUES (?, ?, ?)
     ON CONFLICT (study_id) DO UPDATE SET prolific_study_id = excluded.prolific_study_id, linked_at = excluded.linked_at,
       synced_at = CASE WHEN prolific_study_id = excluded.prolific_study_id THEN synced_at END`,
  ).run(studyId, prolificStudyId, at);
  return prolificLink(db, studyId)!;
}

export function prolificLink(db: Db, studyId: string): ProlificLink | undefined {
  return db.prepare('SELECT * FROM prolific_links WHERE study_id = ?').get(studyId) as ProlificLink | undefined;
}

export function listProlificLinks(db: Db): ProlificLink[] {
  return db.prepare('SELECT * FROM prolific_links ORDER BY study_id').all() as ProlificLink[];
}

export function prolificSessions(db: Db, studyId: string): ProlificSessionRow[] {
  return db
    .prepare(
      `SELECT id, participant_id, prolific_pid, prolific_session_id, slot, state, abandon_reason, started_at, finished_at
         FROM sessions WHERE study_id = ? AND preview = 0 ORDER BY started_at, id`,
    )
    .all(studyId) as ProlificSessionRow[];
}

// Prolific does not promise to deliver events in order: an older word never overwrites a newer one.
const UPSERT_SUBMISSION = `INSERT INTO prolific_submissions
    (submission_id, study_id, prolific_pid, status, status_at, started_at, completed_at)
  VALUES (@submission_id, @study_id, @prolific_pid, @status, @status_at, @started_at, @completed_at)
  ON CONFLICT (submission_id) DO UPDATE SET study_id = excluded.study_id, prolific_pid = excluded.prolific_pid,
    status = excluded.status, status_at = excluded.status_at,
    started_at = coalesce(excluded.started_at, started_at), completed_at = coalesce(excluded.completed_at, completed_at)
  WHERE excluded.status_at >= prolific_submissions.status_at`;

export function saveProlificListing(db: Db, studyId: string, rows: readonly ProlificSubmissionRow[], syncedAt: number): void {
  const upsert = db.prepare(UPSERT_SUBMISSION);
  db.transaction(() => {
    for (const r of rows) upsert.run(r);
    db.prepare('UPDATE prolific_links SET synced_at = ? WHERE study_id = ?').run(syncedAt, studyId);
  })();
}

export function recordProlificSubmission(db: Db, row: ProlificSubmissionRow): 'applied' | 'stale' {
  return db.prepare(UPSERT_SUBMISSION).run(row).changes === 1 ? 'applied' : 'stale';
}

export function prolificSubmissions(db: Db, studyId: string): ProlificSubmissionRow[] {
  return db
    .prepare('SELECT * FROM prolific_submissions WHERE study_id = ? ORDER BY started_at, submission_id')
    .all(studyId) as ProlificSubmissionRow[];
}

/**
 * The linked study a webhook's submission belongs to (its payload names no study): a listing that
 * already saw it, else the session that arrived with it as SESSION_ID, else the one linked study
 * where that participant has a session. Undefined when none, or when the participant is in several.
 */
export function locateProlificSubmission(db: Db, submissionId: string, prolificPid: string): string | undefined {
  const listed = db.prepare('SELECT study_id FROM prolific_submissions WHERE submission_id = ?').pluck().get(submissionId) as
    | string
    | undefined;
  if (listed) return listed;
  const bySession = db
    .prepare(
      `SELECT s.study_id FROM sessions s JOIN prolific_links l ON l.study_id = s.study_id
        WHERE s.prolific_session_id = ? AND s.preview = 0`,
    )
    .pluck()
    .all(submissionId) as string[];
  if (bySession.length === 1) return bySession[0];
  const byPid = db
    .prepare(
      `SELECT DISTINCT s.study_id FROM sessions s JOIN prolific_links l ON l.study_id = s.study_id
        WHERE s.prolific_pid = ? AND s.preview = 0`,
    )
    .pluck()
    .all(prolificPid) as string[];
  return byPid.length === 1 ? byPid[0] : undefined;
}

/**
 * Prolific ended the submission: a started session (or one the idle timer abandoned, which a late
 * trial would otherwise revive) becomes abandoned for that reason and gives its slot back at once.
 * Completed and screened-out sessions are left alone. True when the session changed.
 */
export function abandonSessionForProlific(db: Db, sessionId: string, reason: ProlificAbandonReason): boolean {
  return (
    db
      .prepare(
        `UPDATE sessions SET state = 'abandoned', abandon_reason = ?
          WHERE id = ? AND preview = 0 AND (state = 'started' OR (state = 'abandoned' AND abandon_reason IS NOT ?))`,
      )
      .run(reason, sessionId, reason).changes === 1
  );
}

/**
 * A webhook event, applied once: the event is recorded and the submission's status stored in one
 * transaction, so a crash between the two cannot make Prolific's retry look like a duplicate.
 * 'duplicate' when the event id, or the same signature under another id, was seen before;
 * 'unmatched' when the submission belongs to no linked study (`row` null); 'stale' when a newer
 * status is already stored (Prolific does not promise order).
 */
export function applyWebhookEvent(db: Db, e: Omit<WebhookEventRecord, 'outcome'>, row: ProlificSubmissionRow | null): WebhookOutcome {
  return db.transaction((): WebhookOutcome => {
    // Retries come within 24 hours; a week of ids is plenty and keeps the table small.
    db.prepare('DELETE FROM prolific_webhook_events WHERE received_at < ?').run(e.received_at - 7 * 86_400_000);
    const outcome: WebhookOutcome = row === null ? 'unmatched' : recordProlificSubmission(db, row);
    const info = db
      .prepare('INSERT OR IGNORE INTO prolific_webhook_events (event_id, signature_hash, received_at, outcome) VALUES (?, ?, ?, ?)')
      .run(e.event_id, e.signature_hash, e.received_at, outcome);
    if (info.changes === 0) throw new DuplicateEvent();
    return outcome;
  })();
}

export type WebhookOutcome = 'applied' | 'stale' | 'unmatched';

/** Thrown inside the transaction so that a duplicate's status write is rolled back. */
export class DuplicateEvent extends Error {}

export function bonusItems(db: Db, studyId: string, batch?: string): BonusItemRow[] {
  if (batch === undefined)
    return db.prepare('SELECT * FROM prolific_bonus_items WHERE study_id = ? ORDER BY run_id, session_id').all(studyId) as BonusItemRow[];
  return db
    .prepare('SELECT * FROM prolific_bonus_items WHERE study_id = ? AND batch = ? ORDER BY run_id, session_id')
    .all(studyId, batch) as BonusItemRow[];
}

/** Records the intent to pay `items` as one run, before Prolific hears of it (one transaction). */
export function createBonusRun(db: Db, studyId: string, batch: string, items: readonly NewBonusItem[], at: number): BonusRunRow {
  try {
    return insertBonusRun(db, studyId, batch, items, at);
  } catch (e) {
    // Two runs of the same file at once: the second finds the first's items.
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw userError(`another run is recording bonuses of batch "${batch}" for the same participants; run the command again`, 409);
    }
    throw e;
  }
}

function insertBonusRun(db: Db, studyId: string, batch: string, items: readonly NewBonusItem[], at: number): BonusRunRow {
  return db.transaction(() => {
    const { lastInsertRowid } = db
      .prepare("INSERT INTO prolific_bonus_runs (study_id, batch, state, created_at, updated_at) VALUES (?, ?, 'intent', ?, ?)")
      .run(studyId, batch, at, at);
    const runId = Number(lastInsertRowid);
    const insert = db.prepare(
      'INSERT INTO prolific_bonus_items (study_id, batch, session_id, run_id, submission_id, amount_cents) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // A participant already in the batch makes the primary key refuse the whole run.
    for (const i of items) insert.run(studyId, batch, i.session_id, runId, i.submission_id, i.amount_cents);
    return bonusRun(db, runId)!;
  })();
}

export function bonusRun(db: Db, runId: number): BonusRunRow | undefined {
  return db.prepare('SELECT * FROM prolific_bonus_runs WHERE id = ?').get(runId) as BonusRunRow | undefined;
}

export function bonusRuns(db: Db, studyId: string): BonusRunRow[] {
  return db.prepare('SELECT * FROM prolific_bonus_runs WHERE study_id = ? ORDER BY id').all(studyId) as BonusRunRow[];
}

export function bonusRunItems(db: Db, runId: number): BonusItemRow[] {
  return db.prepare('SELECT * FROM prolific_bonus_items WHERE run_id = ? ORDER BY session_id').all(runId) as BonusItemRow[];
}

/**
 * Compare-and-set of a run's state: true only for the one caller that moved it from `from`. Two
 * `metamer prolific bonus` processes on one database can therefore never both send the pay call.
 */
export function advanceBonusRun(db: Db, runId: number, from: BonusRunState, to: BonusRunState, at: number, setupId?: string): boolean {
  return (
    db
      .prepare('UPDATE prolific_bonus_runs SET state = ?, setup_id = coalesce(?, setup_id), updated_at = ? WHERE id = ? AND state = ?')
      .run(to, setupId ?? null, at, runId, from).changes === 1
  );
}
