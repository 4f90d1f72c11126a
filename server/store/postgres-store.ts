/**
 * The Store on PostgreSQL, for several stateless server instances on one database (selected by
 * METAMER_DATABASE_URL=postgres://…; docs/deploying.md). Same rules as the SQLite store, made safe
 * across processes by the database:
 *
 * - A trial is one autocommit INSERT … ON CONFLICT DO NOTHING on (session_id, trial_index): a
 *   replay with the same content is `duplicate`, other content `conflict`, the first row stands,
 *   whichever instance each request reached.
 * - A Latin-square slot is chosen inside a transaction holding a per-study advisory lock, so two
 *   instances never hand out the same slot (and one PID never gets two sessions).
 * - `runExclusive` holds a session-level advisory lock while the job runs: the abandonment sweep
 *   runs on one instance at a time, and the lock goes with the connection if the instance dies.
 * - Experimenter log-ins are rows, so a cookie issued by one instance works on all.
 *
 * Statements on the hot path are named (prepared once per connection). Text is ordered with
 * COLLATE "C", byte order as in SQLite, so lists, exports and the bootstrap's participant order
 * are the same on both databases whatever the cluster's locale.
 */
import type pg from 'pg';
import type { SessionState, TurnAwayReason } from '../../experiment/contract.ts';
import { type BlobExt, MIME_BY_EXT } from '../../stimuli/blob-store.ts';
import { Manifest } from '../../stimuli/manifest.ts';
import type { SessionPlan } from '../session-plan.ts';
import type { StudyConfig, StudyStatus } from '../study-config.ts';
import { HttpError, userError } from '../http-error.ts';
import { createPool, describePostgresUrl, LOCK_KEY, migratePostgres } from './postgres-pool.ts';
import { PostgresStudyData } from './postgres-study-data.ts';
import { ProlificPostgres } from './prolific-postgres.ts';
import type * as P from './prolific-store.ts';
import { manifestBlobs, manifestDigest, SetExistsError, setBlobs, setSummary, type StoredSetRow } from './stimulus-sets.ts';
import {
  flagsFromRow,
  lowestFreeSlot,
  newSessionToken,
  PlanCache,
  type RawSession,
  type RawSessionSummary,
  type RawStudy,
  SESSION_COLUMNS,
  SESSIONS_WITH_STUDY,
  sessionFromRow,
  sessionSummariesSql,
  studyFromRow,
  turnAwayCountsOf,
} from './stored-rows.ts';
import {
  type ConditionTrialCount,
  type NewSession,
  PAGE_REPORTS_PER_SESSION,
  type PageReportRow,
  type PaymentRow,
  type SaveOutcome,
  type SessionCounts,
  type SessionRow,
  type SessionStartOutcome,
  type SessionSummary,
  type Store,
  type StudyRow,
  type TrialRow,
  type TurnAway,
  type TurnAwayCounts,
} from './store.ts';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

const SQL = {
  sessionById: `SELECT ${SESSION_COLUMNS} FROM ${SESSIONS_WITH_STUDY} WHERE s.id = $1`,
  sessionByPid: `SELECT ${SESSION_COLUMNS} FROM ${SESSIONS_WITH_STUDY} WHERE s.study_id = $1 AND s.prolific_pid = $2`,
  planOf: 'SELECT plan FROM session_plans WHERE session_id = $1',
  insertTrial: `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
      response, correct, rt_ms, data, received_at, fallback_for)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (session_id, trial_index) DO NOTHING`,
  trialData: 'SELECT data FROM trials WHERE session_id = $1 AND trial_index = $2',
  // Only the idle timer's abandonment is undone by a late trial (docs/prolific.md).
  touch: `UPDATE sessions SET last_activity_at = $1,
      state = CASE WHEN state = 'abandoned' AND abandon_reason = 'idle' THEN 'started' ELSE state END,
      abandon_reason = CASE WHEN state = 'abandoned' AND abandon_reason = 'idle' THEN NULL ELSE abandon_reason END
    WHERE id = $2`,
  answered: 'SELECT trial_index FROM trials WHERE session_id = $1 ORDER BY trial_index',
  studyUpdatedAt: 'SELECT updated_at FROM studies WHERE id = $1',
  // Columns named, not *: a prepared statement's result shape must survive a later migration that
  // another instance (a rolling upgrade) applies while this one runs.
  studyById: 'SELECT id, set_name, config, status, created_at, updated_at FROM studies WHERE id = $1',
};

/** PostgreSQL's codes for text it cannot store (a NUL character, invalid UTF-8). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

export class PostgresStore implements Store {
  readonly description: string;
  readonly studyData: PostgresStudyData;
  private readonly plans = new PlanCache();
  private readonly prolific: ProlificPostgres;

  private constructor(
    private readonly pool: pg.Pool,
    url: string,
  ) {
    this.description = describePostgresUrl(url);
    this.studyData = new PostgresStudyData(pool, this.description);
    this.prolific = new ProlificPostgres(pool, (work) => this.transaction(work));
  }

  /** Connects and brings the schema up to date. */
  static async open(url: string): Promise<PostgresStore> {
    const pool = createPool(url);
    try {
      await migratePostgres(pool, url);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PostgresStore(pool, url);
  }

  /** A named (prepared) statement: parsed once per connection, then only bound and run. */
  private async run<R extends pg.QueryResultRow>(name: keyof typeof SQL, values: unknown[], on: Queryable = this.pool) {
    try {
      return await on.query<R>({ name, text: SQL[name], values });
    } catch (e) {
      throw storableOr(e);
    }
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], on: Queryable = this.pool) {
    try {
      return await on.query<R>(text, values);
    } catch (e) {
      throw storableOr(e);
    }
  }

  /** Runs `work` in one transaction on one connection (rolled back if it throws). */
  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async saveStimulusSet(input: Manifest): Promise<'created' | 'unchanged'> {
    const manifest = Manifest.parse(input);
    const digest = manifestDigest(manifest);
    const blobs = manifestBlobs(manifest);
    return this.transaction(async (c) => {
      const inserted = await this.query(
        `INSERT INTO stimulus_sets (name, modality, digest, manifest, imported_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING`,
        [manifest.name, manifest.modality, digest, JSON.stringify(manifest), Date.now()],
        c,
      );
      if (inserted.rowCount === 0) {
        const { rows } = await this.query<{ digest: string }>('SELECT digest FROM stimulus_sets WHERE name = $1', [manifest.name], c);
        if (rows[0]!.digest === digest) return 'unchanged';
        throw new SetExistsError(manifest.name);
      }
      // One statement for every file of the set (tens of thousands of rows in a real set).
      await this.query(
        `INSERT INTO blobs (sha256, ext, mime) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT (sha256) DO NOTHING`,
        [blobs.map((b) => b.sha256), blobs.map((b) => b.ext), blobs.map((b) => b.mime)],
        c,
      );
      return 'created';
    });
  }

  async getStimulusSet(name: string) {
    const { rows } = await this.query<{ manifest: string }>('SELECT manifest FROM stimulus_sets WHERE name = $1', [name]);
    return rows[0] ? (JSON.parse(rows[0].manifest) as Manifest) : undefined;
  }

  async listStimulusSets() {
    const { rows } = await this.query<StoredSetRow>(
      'SELECT name, modality, digest, manifest, imported_at FROM stimulus_sets ORDER BY name COLLATE "C"',
    );
    return rows.map(setSummary);
  }

  async registerBlob(sha256: string, ext: BlobExt) {
    await this.query('INSERT INTO blobs (sha256, ext, mime) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING', [
      sha256,
      ext,
      MIME_BY_EXT[ext],
    ]);
  }

  async listBlobs(setName?: string) {
    if (setName) return setBlobs(setName, await this.getStimulusSet(setName));
    const { rows } = await this.query<{ sha256: string; ext: BlobExt }>('SELECT sha256, ext FROM blobs ORDER BY sha256 COLLATE "C"');
    return rows;
  }

  async createStudy(config: StudyConfig): Promise<StudyRow> {
    const now = Date.now();
    try {
      await this.query("INSERT INTO studies (id, set_name, config, status, created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, $4)", [
        config.id,
        config.stimulus_set,
        JSON.stringify(config),
        now,
      ]);
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw userError(`study "${config.id}" already exists`, 409);
      throw e;
    }
    return (await this.getStudy(config.id))!;
  }

  async getStudy(id: string) {
    const { rows } = await this.run<RawStudy>('studyById', [id]);
    return rows[0] ? studyFromRow(rows[0]) : undefined;
  }

  async studyUpdatedAt(id: string) {
    const { rows } = await this.run<{ updated_at: number }>('studyUpdatedAt', [id]);
    return rows[0]?.updated_at;
  }

  async listStudies() {
    const { rows } = await this.query<RawStudy>(
      'SELECT id, set_name, config, status, created_at, updated_at FROM studies ORDER BY created_at, id COLLATE "C"',
    );
    return rows.map(studyFromRow);
  }

  async setStudyStatus(id: string, status: StudyStatus) {
    // Strictly increasing even within one millisecond or across instances whose clocks differ:
    // every instance's study cache compares this value to know its copy is stale.
    await this.query('UPDATE studies SET status = $1, updated_at = GREATEST(updated_at + 1, $2) WHERE id = $3', [status, Date.now(), id]);
  }

  private async sessionFromRow(r: RawSession, on: Queryable = this.pool): Promise<SessionRow> {
    let plan = this.plans.get(r.id);
    if (!plan) {
      const { rows } = await this.run<{ plan: string }>('planOf', [r.id], on);
      plan = JSON.parse(rows[0]!.plan) as SessionPlan;
      this.plans.remember(r.id, plan);
    }
    return sessionFromRow(r, plan);
  }

  async startSession(s: NewSession): Promise<SessionStartOutcome> {
    // A returning participant needs no lock.
    const known = await this.findSession(s.studyId, s.prolificPid);
    if (known) return { kind: 'existing', session: known };
    return this.transaction(async (c): Promise<SessionStartOutcome> => {
      // Every instance allocating a slot in this study queues here until the holder commits; each
      // statement after it (READ COMMITTED) sees the sessions the previous holders inserted.
      await c.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`, [`metamer.slots:${s.studyId}`]);
      const existing = await this.run<RawSession>('sessionByPid', [s.studyId, s.prolificPid], c);
      if (existing.rows[0]) return { kind: 'existing', session: await this.sessionFromRow(existing.rows[0], c) };
      if (!s.acceptNew) return { kind: 'not_accepting' };
      if (!s.preview) {
        const { rows } = await c.query<{ n: number }>(
          "SELECT count(*) AS n FROM sessions WHERE study_id = $1 AND preview = 0 AND state = 'completed'",
          [s.studyId],
        );
        if (rows[0]!.n >= s.targetCompleted) return { kind: 'full' };
      }
      let slot = 0;
      if (!s.preview) {
        const { rows } = await c.query<{ slot: number }>(
          "SELECT slot FROM sessions WHERE study_id = $1 AND preview = 0 AND state IN ('started', 'completed') ORDER BY slot",
          [s.studyId],
        );
        slot = lowestFreeSlot(rows.map((r) => r.slot));
      }
      const plan = s.makePlan(slot);
      const id = newSessionToken();
      const now = Date.now();
      await this.query(
        `INSERT INTO sessions (id, study_id, prolific_pid, participant_id, prolific_study_id, prolific_session_id, slot, state,
           preview, n_trials, user_agent, started_at, last_activity_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'started', $8, $9, $10, $11, $11)`,
        [
          id,
          s.studyId,
          s.prolificPid,
          s.participantId,
          s.prolificStudyId ?? null,
          s.prolificSessionId ?? null,
          slot,
          s.preview ? 1 : 0,
          plan.trials.length,
          s.userAgent?.slice(0, 512) ?? null,
          now,
        ],
        c,
      );
      await this.query('INSERT INTO session_plans (session_id, plan) VALUES ($1, $2)', [id, JSON.stringify(plan)], c);
      this.plans.remember(id, plan);
      const { rows } = await this.run<RawSession>('sessionById', [id], c);
      return { kind: 'created', session: await this.sessionFromRow(rows[0]!, c) };
    });
  }

  async getSession(id: string) {
    const { rows } = await this.run<RawSession>('sessionById', [id]);
    return rows[0] ? this.sessionFromRow(rows[0]) : undefined;
  }

  async findSession(studyId: string, prolificPid: string) {
    const { rows } = await this.run<RawSession>('sessionByPid', [studyId, prolificPid]);
    return rows[0] ? this.sessionFromRow(rows[0]) : undefined;
  }

  async answeredIndices(sessionId: string) {
    const { rows } = await this.run<{ trial_index: number }>('answered', [sessionId]);
    return rows.map((r) => r.trial_index);
  }

  async saveTrial(row: TrialRow): Promise<SaveOutcome> {
    const inserted = await this.run('insertTrial', [
      row.session_id,
      row.trial_index,
      row.phase,
      row.stimulus_id,
      row.source_id,
      row.category,
      row.model,
      row.layer,
      row.layer_index,
      row.response,
      row.correct,
      row.rt_ms,
      row.data,
      row.received_at,
      row.fallback_for ?? null,
    ]);
    if (inserted.rowCount === 1) {
      if (this.plans.needsTouch(row.session_id, row.received_at)) await this.run('touch', [row.received_at, row.session_id]);
      return 'created';
    }
    // The conflicting row is committed (ON CONFLICT waited for its transaction), so it is readable.
    const { rows } = await this.run<{ data: string }>('trialData', [row.session_id, row.trial_index]);
    return rows[0]!.data === row.data ? 'duplicate' : 'conflict';
  }

  async trialsOfSession(sessionId: string) {
    const { rows } = await this.query<TrialRow>('SELECT * FROM trials WHERE session_id = $1 ORDER BY trial_index', [sessionId]);
    return rows;
  }

  async setScreening(sessionId: string, passed: boolean, at: number) {
    await this.query(
      `UPDATE sessions SET screening_passed = $1, finished_at = $2, last_activity_at = $3,
         state = CASE WHEN $1 = 0 THEN 'screened_out'
                      WHEN state = 'abandoned' AND abandon_reason IS DISTINCT FROM 'idle' THEN state
                      ELSE 'started' END,
         abandon_reason = CASE WHEN $1 = 0 OR abandon_reason = 'idle' THEN NULL ELSE abandon_reason END
        WHERE id = $4 AND screening_passed IS NULL`,
      [passed ? 1 : 0, passed ? null : at, at, sessionId],
    );
  }

  async completeSession(sessionId: string, at: number) {
    await this.query(
      "UPDATE sessions SET state = 'completed', abandon_reason = NULL, finished_at = $1, last_activity_at = $1 WHERE id = $2 AND state <> 'completed'",
      [at, sessionId],
    );
  }

  async recordPacingViolation(sessionId: string) {
    await this.query('UPDATE sessions SET pacing_violations = pacing_violations + 1 WHERE id = $1', [sessionId]);
  }

  async checkWritable() {
    // A real write, committed, with a short wait for the row lock: a health check should not hang.
    await this.transaction(async (c) => {
      await c.query("SET LOCAL lock_timeout = '200ms'");
      await c.query(
        'INSERT INTO health_checks (id, checked_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
        [Date.now()],
      );
    });
  }

  async countSessions(studyId: string): Promise<SessionCounts> {
    const counts: SessionCounts = { started: 0, completed: 0, screened_out: 0, abandoned: 0 };
    const { rows } = await this.query<{ state: SessionState; n: number }>(
      'SELECT state, count(*) AS n FROM sessions WHERE study_id = $1 AND preview = 0 GROUP BY state',
      [studyId],
    );
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  async listSessions(studyId: string): Promise<SessionSummary[]> {
    const { rows } = await this.query<RawSessionSummary>(sessionSummariesSql('$1', 's.id COLLATE "C"'), [studyId]);
    return rows.map(flagsFromRow);
  }

  async savePageReport(row: PageReportRow): Promise<'stored' | 'limit'> {
    // The session's row lock orders two reports arriving at once, so that they neither take the
    // same seq nor pass the limit together (a single statement would not, under READ COMMITTED).
    return this.transaction(async (c) => {
      await this.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [row.session_id], c);
      const { rowCount } = await this.query(
        `INSERT INTO page_reports (session_id, seq, report, user_agent, received_at)
         SELECT $1, count(*), $2, $3, $4 FROM page_reports WHERE session_id = $1 HAVING count(*) < $5`,
        [row.session_id, row.report, row.user_agent?.slice(0, 512) ?? null, row.received_at, PAGE_REPORTS_PER_SESSION],
        c,
      );
      return rowCount === 1 ? 'stored' : 'limit';
    });
  }

  async pageReports(studyId: string): Promise<PageReportRow[]> {
    const { rows } = await this.query<PageReportRow>(
      `SELECT r.session_id, r.report, r.user_agent, r.received_at
         FROM sessions s JOIN page_reports r ON r.session_id = s.id
        WHERE s.study_id = $1 ORDER BY r.session_id COLLATE "C", r.seq`,
      [studyId],
    );
    return rows;
  }

  async completedPayments(studyId: string): Promise<PaymentRow[]> {
    const { rows } = await this.query<PaymentRow>(
      `SELECT prolific_pid, prolific_study_id, prolific_session_id, participant_id, started_at, finished_at
         FROM sessions WHERE study_id = $1 AND preview = 0 AND state = 'completed' ORDER BY finished_at, id COLLATE "C"`,
      [studyId],
    );
    return rows;
  }

  async mainTrialCounts(studyId: string, states: readonly SessionState[]): Promise<ConditionTrialCount[]> {
    if (states.length === 0) return [];
    const { rows } = await this.query<ConditionTrialCount>(
      `SELECT t.model, t.layer, t.layer_index, s.state, count(*) AS trials, sum(t.correct) AS correct
         FROM sessions s JOIN trials t ON t.session_id = s.id
        WHERE s.study_id = $1 AND s.state = ANY($2::text[]) AND s.preview = 0 AND t.phase = 'main'
        GROUP BY t.model, t.layer, t.layer_index, s.state
        ORDER BY t.layer_index, t.model COLLATE "C", t.layer COLLATE "C", s.state COLLATE "C"`,
      [studyId, [...states]],
    );
    return rows;
  }

  async abandonIdleSessions(studyId: string, idleBefore: number): Promise<number> {
    // One statement: a trial's touch either commits before (the session is not idle) or waits for
    // this row lock and then revives it.
    const r = await this.query(
      "UPDATE sessions SET state = 'abandoned', abandon_reason = 'idle' WHERE study_id = $1 AND state = 'started' AND last_activity_at < $2",
      [studyId, idleBefore],
    );
    return r.rowCount ?? 0;
  }

  async recordTurnAway(t: TurnAway) {
    await this.query('INSERT INTO turn_aways (study_id, participant_id, reason, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      t.studyId,
      t.participantId,
      t.reason,
      t.at,
    ]);
  }

  async turnAwayCounts(studyId: string): Promise<TurnAwayCounts> {
    const { rows } = await this.query<{ reason: TurnAwayReason; n: number; back: number }>(
      `SELECT a.reason, count(*) AS n,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM sessions s
                                              WHERE s.study_id = a.study_id AND s.participant_id = a.participant_id AND s.preview = 0)) AS back
         FROM turn_aways a WHERE a.study_id = $1 GROUP BY a.reason`,
      [studyId],
    );
    return turnAwayCountsOf(rows);
  }

  linkProlificStudy(studyId: string, prolificStudyId: string, at: number) {
    return this.prolific.linkProlificStudy(studyId, prolificStudyId, at);
  }

  prolificLink(studyId: string) {
    return this.prolific.prolificLink(studyId);
  }

  listProlificLinks() {
    return this.prolific.listProlificLinks();
  }

  prolificSessions(studyId: string) {
    return this.prolific.prolificSessions(studyId);
  }

  saveProlificListing(studyId: string, rows: readonly P.ProlificSubmissionRow[], syncedAt: number) {
    return this.prolific.saveProlificListing(studyId, rows, syncedAt);
  }

  recordProlificSubmission(row: P.ProlificSubmissionRow) {
    return this.prolific.recordProlificSubmission(row);
  }

  prolificSubmissions(studyId: string) {
    return this.prolific.prolificSubmissions(studyId);
  }

  locateProlificSubmission(submissionId: string, prolificPid: string) {
    return this.prolific.locateProlificSubmission(submissionId, prolificPid);
  }

  abandonSessionForProlific(sessionId: string, reason: P.ProlificAbandonReason) {
    return this.prolific.abandonSessionForProlific(sessionId, reason);
  }

  applyWebhookEvent(e: Omit<P.WebhookEventRecord, 'outcome'>, row: P.ProlificSubmissionRow | null) {
    return this.prolific.applyWebhookEvent(e, row);
  }

  bonusItems(studyId: string, batch?: string) {
    return this.prolific.bonusItems(studyId, batch);
  }

  createBonusRun(studyId: string, batch: string, items: readonly P.NewBonusItem[], at: number) {
    return this.prolific.createBonusRun(studyId, batch, items, at);
  }

  bonusRuns(studyId: string) {
    return this.prolific.bonusRuns(studyId);
  }

  bonusRunItems(runId: number) {
    return this.prolific.bonusRunItems(runId);
  }

  advanceBonusRun(runId: number, from: P.BonusRunState, to: P.BonusRunState, at: number, setupId?: string) {
    return this.prolific.advanceBonusRun(runId, from, to, at, setupId);
  }

  async createAdminSession(idHash: string, createdAt: number, expiresAt: number, userAgent?: string) {
    await this.transaction(async (c) => {
      await c.query('DELETE FROM admin_sessions WHERE expires_at <= $1', [createdAt]);
      await this.query(
        'INSERT INTO admin_sessions (id_hash, created_at, expires_at, user_agent) VALUES ($1, $2, $3, $4)',
        [idHash, createdAt, expiresAt, userAgent?.slice(0, 512) ?? null],
        c,
      );
    });
  }

  async adminSessionValid(idHash: string, now: number) {
    const { rows } = await this.query<{ expires_at: number }>('SELECT expires_at FROM admin_sessions WHERE id_hash = $1', [idHash]);
    if (!rows[0]) return false;
    if (rows[0].expires_at > now) return true;
    await this.deleteAdminSession(idHash);
    return false;
  }

  async deleteAdminSession(idHash: string) {
    await this.query('DELETE FROM admin_sessions WHERE id_hash = $1', [idHash]);
  }

  async deleteAdminSessions(now: number) {
    return this.transaction(async (c) => {
      const { rows } = await c.query<{ n: number }>('SELECT count(*) AS n FROM admin_sessions WHERE expires_at > $1', [now]);
      await c.query('DELETE FROM admin_sessions');
      return rows[0]!.n;
    });
  }

  async runExclusive(name: string, job: () => Promise<void>) {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS got`, [`metamer.job:${name}`]);
      if (!rows[0]!.got) return false;
      try {
        await job();
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [`metamer.job:${name}`]).catch((e: Error) => (broken = e));
      }
      return true;
    } finally {
      // A connection whose unlock failed is closed, which releases the lock anyway.
      client.release(broken);
    }
  }

  async checkParticipantKey(fingerprint: string) {
    await this.query("INSERT INTO instance_settings (name, value) VALUES ('participant_key_check', $1) ON CONFLICT (name) DO NOTHING", [
      fingerprint,
    ]);
    const { rows } = await this.query<{ value: string }>("SELECT value FROM instance_settings WHERE name = 'participant_key_check'");
    return rows[0]!.value === fingerprint;
  }

  async close() {
    await this.pool.end();
  }
}

/** Text PostgreSQL cannot store (SQLite can) is the client's problem: a 400 that names it, not a 500. */
function storableOr(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code && UNSTORABLE_TEXT.has(code))
    return new HttpError(400, 'unstorable_text', 'Text with a NUL character or invalid UTF-8 cannot be stored.');
  return e;
}
