/**
 * The Prolific closed loop's storage on PostgreSQL: the same rows and rules as prolific-store.ts
 * (SQLite), for `PostgresStore` to delegate to, one line per method. Several server instances may
 * apply webhook events and advance bonus runs at once: each step is one statement or one
 * transaction, and the compare-and-set updates let exactly one of them win.
 */
import type pg from 'pg';
import { userError } from '../http-error.ts';
import { LOCK_KEY } from './postgres-pool.ts';
import type {
  BonusItemRow,
  BonusRunRow,
  BonusRunState,
  NewBonusItem,
  ProlificAbandonReason,
  ProlificLink,
  ProlificSessionRow,
  ProlificSubmissionRow,
  WebhookEventRecord,
  WebhookOutcome,
} from './prolific-store.ts';

const SUBMISSION_COLUMNS = 'submission_id, study_id, prolific_pid, status, status_at, started_at, completed_at';

// Prolific does not promise to deliver events in order: an older word never overwrites a newer one.
const UPSERT_SUBMISSION = `INSERT INTO prolific_submissions (${SUBMISSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (submission_id) DO UPDATE SET study_id = excluded.study_id, prolific_pid = excluded.prolific_pid,
    status = excluded.status, status_at = excluded.status_at,
    started_at = coalesce(excluded.started_at, prolific_submissions.started_at),
    completed_at = coalesce(excluded.completed_at, prolific_submissions.completed_at)
  WHERE excluded.status_at >= prolific_submissions.status_at`;

const values = (r: ProlificSubmissionRow) => [
  r.submission_id,
  r.study_id,
  r.prolific_pid,
  r.status,
  r.status_at,
  r.started_at,
  r.completed_at,
];

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Runs `work` in one transaction on one connection (the store's own helper). */
export type Transaction = <T>(work: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

export class ProlificPostgres {
  constructor(
    private readonly pool: pg.Pool,
    private readonly transaction: Transaction,
  ) {}

  async linkProlificStudy(studyId: string, prolificStudyId: string, at: number): Promise<ProlificLink> {
    const { rows } = await this.pool.query<{ study_id: string }>(
      'SELECT study_id FROM prolific_links WHERE prolific_study_id = $1 AND study_id <> $2',
      [prolificStudyId, studyId],
    );
    if (rows[0]) throw userError(`Prolific study ${prolificStudyId} is already linked to study "${rows[0].study_id}"`, 409);
    try {
      await this.pool.query(
        `INSERT INTO prolific_links (study_id, prolific_study_id, linked_at) VALUES ($1, $2, $3)
         ON CONFLICT (study_id) DO UPDATE SET prolific_study_id = excluded.prolific_study_id, linked_at = excluded.linked_at,
           synced_at = CASE WHEN prolific_links.prolific_study_id = excluded.prolific_study_id THEN prolific_links.synced_at END`,
        [studyId, prolificStudyId, at],
      );
    } catch (e) {
      // Another instance linked the same Prolific study to another study meanwhile.
      if ((e as { code?: string }).code === '23505')
        throw userError(`Prolific study ${prolificStudyId} is already linked to another study`, 409);
      throw e;
    }
    return (await this.prolificLink(studyId))!;
  }

  async prolificLink(studyId: string): Promise<ProlificLink | undefined> {
    const { rows } = await this.pool.query<ProlificLink>(
      'SELECT study_id, prolific_study_id, linked_at, synced_at FROM prolific_links WHERE study_id = $1',
      [studyId],
    );
    return rows[0];
  }

  async listProlificLinks(): Promise<ProlificLink[]> {
    const { rows } = await this.pool.query<ProlificLink>(
      'SELECT study_id, prolific_study_id, linked_at, synced_at FROM prolific_links ORDER BY study_id COLLATE "C"',
    );
    return rows;
  }

  async prolificSessions(studyId: string): Promise<ProlificSessionRow[]> {
    const { rows } = await this.pool.query<ProlificSessionRow>(
      `SELECT id, participant_id, prolific_pid, prolific_session_id, slot, state, abandon_reason, started_at, finished_at
         FROM sessions WHERE study_id = $1 AND preview = 0 ORDER BY started_at, id COLLATE "C"`,
      [studyId],
    );
    return rows;
  }

  async saveProlificListing(studyId: string, rows: readonly ProlificSubmissionRow[], syncedAt: number): Promise<void> {
    await this.transaction(async (c) => {
      for (const r of rows) await c.query(UPSERT_SUBMISSION, values(r));
      await c.query('UPDATE prolific_links SET synced_at = $1 WHERE study_id = $2', [syncedAt, studyId]);
    });
  }

  private async upsert(row: ProlificSubmissionRow, on: Queryable = this.pool): Promise<'applied' | 'stale'> {
    return (await on.query(UPSERT_SUBMISSION, values(row))).rowCount === 1 ? 'applied' : 'stale';
  }

  recordProlificSubmission(row: ProlificSubmissionRow): Promise<'applied' | 'stale'> {
    return this.upsert(row);
  }

  async prolificSubmissions(studyId: string): Promise<ProlificSubmissionRow[]> {
    const { rows } = await this.pool.query<ProlificSubmissionRow>(
      `SELECT ${SUBMISSION_COLUMNS} FROM prolific_submissions WHERE study_id = $1 ORDER BY started_at, submission_id COLLATE "C"`,
      [studyId],
    );
    return rows;
  }

  async locateProlificSubmission(submissionId: string, prolificPid: string): Promise<string | undefined> {
    const listed = await this.pool.query<{ study_id: string }>('SELECT study_id FROM prolific_submissions WHERE submission_id = $1', [
      submissionId,
    ]);
    if (listed.rows[0]) return listed.rows[0].study_id;
    const bySession = await this.pool.query<{ study_id: string }>(
      `SELECT s.study_id FROM sessions s JOIN prolific_links l ON l.study_id = s.study_id
        WHERE s.prolific_session_id = $1 AND s.preview = 0`,
      [submissionId],
    );
    if (bySession.rows.length === 1) return bySession.rows[0]!.study_id;
    const byPid = await this.pool.query<{ study_id: string }>(
      `SELECT DISTINCT s.study_id FROM sessions s JOIN prolific_links l ON l.study_id = s.study_id
        WHERE s.prolific_pid = $1 AND s.preview = 0`,
      [prolificPid],
    );
    return byPid.rows.length === 1 ? byPid.rows[0]!.study_id : undefined;
  }

  async abandonSessionForProlific(sessionId: string, reason: ProlificAbandonReason): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE sessions SET state = 'abandoned', abandon_reason = $1
        WHERE id = $2 AND preview = 0 AND (state = 'started' OR (state = 'abandoned' AND abandon_reason IS DISTINCT FROM $1))`,
      [reason, sessionId],
    );
    return r.rowCount === 1;
  }

  async applyWebhookEvent(
    e: Omit<WebhookEventRecord, 'outcome'>,
    row: ProlificSubmissionRow | null,
  ): Promise<WebhookOutcome | 'duplicate'> {
    return this.transaction(async (c) => {
      // Retries come within 24 hours; a week of ids is plenty and keeps the table small.
      await c.query('DELETE FROM prolific_webhook_events WHERE received_at < $1', [e.received_at - 7 * 86_400_000]);
      // The event first: a concurrent delivery of the same event waits here, then finds it.
      const inserted = await c.query(
        `INSERT INTO prolific_webhook_events (event_id, signature_hash, received_at, outcome) VALUES ($1, $2, $3, 'received')
         ON CONFLICT DO NOTHING`,
        [e.event_id, e.signature_hash, e.received_at],
      );
      if (inserted.rowCount === 0) return 'duplicate';
      const outcome: WebhookOutcome = row === null ? 'unmatched' : await this.upsert(row, c);
      await c.query('UPDATE prolific_webhook_events SET outcome = $1 WHERE event_id = $2', [outcome, e.event_id]);
      return outcome;
    });
  }

  async bonusItems(studyId: string, batch?: string): Promise<BonusItemRow[]> {
    const { rows } =
      batch === undefined
        ? await this.pool.query<BonusItemRow>(
            'SELECT * FROM prolific_bonus_items WHERE study_id = $1 ORDER BY run_id, session_id COLLATE "C"',
            [studyId],
          )
        : await this.pool.query<BonusItemRow>(
            'SELECT * FROM prolific_bonus_items WHERE study_id = $1 AND batch = $2 ORDER BY run_id, session_id COLLATE "C"',
            [studyId, batch],
          );
    return rows;
  }

  async createBonusRun(studyId: string, batch: string, items: readonly NewBonusItem[], at: number): Promise<BonusRunRow> {
    try {
      return await this.transaction(async (c) => {
        // Ids as SQLite gives them (the largest plus one), so a database copied by `metamer db copy`
        // goes on numbering where it was; the lock makes instances take turns.
        await c.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`, ['metamer.bonus-runs']);
        const { rows } = await c.query<BonusRunRow>(
          `INSERT INTO prolific_bonus_runs (id, study_id, batch, state, created_at, updated_at)
           SELECT coalesce(max(id), 0) + 1, $1, $2, 'intent', $3, $3 FROM prolific_bonus_runs RETURNING *`,
          [studyId, batch, at],
        );
        const run = rows[0]!;
        for (const i of items) {
          await c.query(
            'INSERT INTO prolific_bonus_items (study_id, batch, session_id, run_id, submission_id, amount_cents) VALUES ($1, $2, $3, $4, $5, $6)',
            [studyId, batch, i.session_id, run.id, i.submission_id, i.amount_cents],
          );
        }
        return run;
      });
    } catch (e) {
      // Two runs of the same file at once: the second finds the first's items.
      if ((e as { code?: string }).code === '23505') {
        throw userError(`another run is recording bonuses of batch "${batch}" for the same participants; run the command again`, 409);
      }
      throw e;
    }
  }

  async bonusRuns(studyId: string): Promise<BonusRunRow[]> {
    const { rows } = await this.pool.query<BonusRunRow>('SELECT * FROM prolific_bonus_runs WHERE study_id = $1 ORDER BY id', [studyId]);
    return rows;
  }

  async bonusRunItems(runId: number): Promise<BonusItemRow[]> {
    const { rows } = await this.pool.query<BonusItemRow>(
      'SELECT * FROM prolific_bonus_items WHERE run_id = $1 ORDER BY session_id COLLATE "C"',
      [runId],
    );
    return rows;
  }

  async advanceBonusRun(runId: number, from: BonusRunState, to: BonusRunState, at: number, setupId?: string): Promise<boolean> {
    const r = await this.pool.query(
      'UPDATE prolific_bonus_runs SET state = $1, setup_id = coalesce($2, setup_id), updated_at = $3 WHERE id = $4 AND state = $5',
      [to, setupId ?? null, at, runId, from],
    );
    return r.rowCount === 1;
  }
}
