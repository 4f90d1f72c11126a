/**
 * The Store on better-sqlite3. Every write is one transaction; with WAL and synchronous=NORMAL a
 * committed trial survives a process crash (SIGKILL), which is what "acknowledged" means here.
 */
import type { Manifest } from '../../stimuli/manifest.ts';
import type { SessionState, TurnAwayReason } from '../../experiment/contract.ts';
import type { SessionPlan } from '../session-plan.ts';
import type { StudyConfig, StudyStatus } from '../study-config.ts';
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
import type { BlobExt } from '../../stimuli/blob-store.ts';
import { type Db, openDatabase } from './database.ts';
import { type Checkpointer, startCheckpointer } from './checkpointer.ts';
import { SqliteStudyData } from './sqlite-study-data.ts';
import { getStimulusSet, listBlobs, listStimulusSets, registerBlob, saveStimulusSet } from './stimulus-sets.ts';
import * as prolific from './prolific-store.ts';
import { userError } from '../http-error.ts';
import type {
  ConditionTrialCount,
  NewSession,
  PageReportRow,
  PaymentRow,
  SaveOutcome,
  SessionCounts,
  SessionRow,
  SessionStartOutcome,
  SessionSummary,
  Store,
  StudyRow,
  TrialRow,
  TurnAway,
  TurnAwayCounts,
} from './store.ts';
import { PAGE_REPORTS_PER_SESSION } from './store.ts';

export interface SqliteStoreOptions {
  /**
   * Serving: WAL checkpoints in a worker thread instead of inside a participant's commit
   * (checkpointer.ts); `onCheckpointError` hears about failed ones.
   */
  checkpoints?: { onError: (message: string) => void };
}

export class SqliteStore implements Store {
  /** The better-sqlite3 handle: for this store layer (and SQLite's own benchmarks), never routes. */
  readonly db: Db;
  readonly description: string;
  readonly studyData: SqliteStudyData;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly plans = new PlanCache();
  private readonly stmt;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.db = openDatabase(file);
    this.description = file;
    const db = this.db;
    this.studyData = new SqliteStudyData(db, file);
    if (opts.checkpoints) this.checkpointer = startCheckpointer(db, file, 500, opts.checkpoints.onError);
    this.stmt = {
      sessionById: db.prepare(`SELECT ${SESSION_COLUMNS} FROM ${SESSIONS_WITH_STUDY} WHERE s.id = ?`),
      sessionByPid: db.prepare(`SELECT ${SESSION_COLUMNS} FROM ${SESSIONS_WITH_STUDY} WHERE s.study_id = ? AND s.prolific_pid = ?`),
      planOf: db.prepare('SELECT plan FROM session_plans WHERE session_id = ?'),
      insertPlan: db.prepare('INSERT INTO session_plans (session_id, plan) VALUES (?, ?)'),
      heldSlots: db.prepare(
        "SELECT slot FROM sessions WHERE study_id = ? AND preview = 0 AND state IN ('started', 'completed') ORDER BY slot",
      ),
      completedCount: db.prepare("SELECT count(*) AS n FROM sessions WHERE study_id = ? AND preview = 0 AND state = 'completed'"),
      insertSession: db.prepare(
        `INSERT INTO sessions (id, study_id, prolific_pid, participant_id, prolific_study_id, prolific_session_id, slot, state,
           preview, n_trials, user_agent, started_at, last_activity_at)
         VALUES (@id, @study_id, @prolific_pid, @participant_id, @prolific_study_id, @prolific_session_id, @slot, 'started',
           @preview, @n_trials, @user_agent, @now, @now)`,
      ),
      answered: db.prepare('SELECT trial_index FROM trials WHERE session_id = ? ORDER BY trial_index'),
      insertTrial: db.prepare(
        `INSERT INTO trials (session_id, trial_index, phase, stimulus_id, source_id, category, model, layer, layer_index,
           response, correct, rt_ms, data, received_at, fallback_for)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (session_id, trial_index) DO NOTHING`,
      ),
      trialData: db.prepare('SELECT data FROM trials WHERE session_id = ? AND trial_index = ?'),
      touch: db.prepare(
        // Only the idle timer's abandonment is undone by a late trial: a session whose submission
        // Prolific ended (returned, timed out, rejected) keeps its trials but not its slot.
        `UPDATE sessions SET last_activity_at = ?,
           state = CASE WHEN state = 'abandoned' AND abandon_reason = 'idle' THEN 'started' ELSE state END,
           abandon_reason = CASE WHEN state = 'abandoned' AND abandon_reason = 'idle' THEN NULL ELSE abandon_reason END
         WHERE id = ?`,
      ),
      trialsOf: db.prepare('SELECT * FROM trials WHERE session_id = ? ORDER BY trial_index'),
      studyById: db.prepare('SELECT * FROM studies WHERE id = ?'),
      studyUpdatedAt: db.prepare('SELECT updated_at FROM studies WHERE id = ?').pluck(),
      pacingViolation: db.prepare('UPDATE sessions SET pacing_violations = pacing_violations + 1 WHERE id = ?'),
      healthCheck: db.prepare(
        'INSERT INTO health_checks (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at',
      ),
    };
  }

  async saveStimulusSet(manifest: Manifest) {
    return saveStimulusSet(this.db, manifest);
  }

  async getStimulusSet(name: string) {
    return getStimulusSet(this.db, name);
  }

  async listStimulusSets() {
    return listStimulusSets(this.db);
  }

  async registerBlob(sha256: string, ext: BlobExt) {
    registerBlob(this.db, sha256, ext);
  }

  async listBlobs(setName?: string) {
    return listBlobs(this.db, setName);
  }

  async createStudy(config: StudyConfig): Promise<StudyRow> {
    const now = Date.now();
    const exists = this.db.prepare('SELECT 1 FROM studies WHERE id = ?').get(config.id);
    if (exists) throw userError(`study "${config.id}" already exists`, 409);
    this.db
      .prepare("INSERT INTO studies (id, set_name, config, status, created_at, updated_at) VALUES (?, ?, ?, 'draft', ?, ?)")
      .run(config.id, config.stimulus_set, JSON.stringify(config), now, now);
    return (await this.getStudy(config.id))!;
  }

  async studyUpdatedAt(id: string) {
    return this.stmt.studyUpdatedAt.get(id) as number | undefined;
  }

  async getStudy(id: string) {
    const r = this.stmt.studyById.get(id) as RawStudy | undefined;
    return r ? studyFromRow(r) : undefined;
  }

  async listStudies() {
    return (this.db.prepare('SELECT * FROM studies ORDER BY created_at, id').all() as RawStudy[]).map(studyFromRow);
  }

  async setStudyStatus(id: string, status: StudyStatus) {
    this.db.prepare('UPDATE studies SET status = ?, updated_at = ? WHERE id = ?').run(status, Date.now(), id);
  }

  private sessionFromRow(r: RawSession): SessionRow {
    let plan = this.plans.get(r.id);
    if (!plan) {
      plan = JSON.parse((this.stmt.planOf.get(r.id) as { plan: string }).plan) as SessionPlan;
      this.plans.remember(r.id, plan);
    }
    return sessionFromRow(r, plan);
  }

  async startSession(s: NewSession): Promise<SessionStartOutcome> {
    // IMMEDIATE: two tabs (or two requests) with one PID must not both allocate a slot.
    const run = this.db.transaction((): SessionStartOutcome => {
      const existing = this.stmt.sessionByPid.get(s.studyId, s.prolificPid) as RawSession | undefined;
      if (existing) return { kind: 'existing', session: this.sessionFromRow(existing) };
      if (!s.acceptNew) return { kind: 'not_accepting' };
      if (!s.preview) {
        const { n } = this.stmt.completedCount.get(s.studyId) as { n: number };
        if (n >= s.targetCompleted) return { kind: 'full' };
      }
      const slot = s.preview ? 0 : lowestFreeSlot((this.stmt.heldSlots.all(s.studyId) as { slot: number }[]).map((r) => r.slot));
      const plan = s.makePlan(slot);
      const id = newSessionToken();
      this.stmt.insertSession.run({
        id,
        study_id: s.studyId,
        prolific_pid: s.prolificPid,
        participant_id: s.participantId,
        prolific_study_id: s.prolificStudyId ?? null,
        prolific_session_id: s.prolificSessionId ?? null,
        slot,
        preview: s.preview ? 1 : 0,
        n_trials: plan.trials.length,
        user_agent: s.userAgent?.slice(0, 512) ?? null,
        now: Date.now(),
      });
      this.stmt.insertPlan.run(id, JSON.stringify(plan));
      this.plans.remember(id, plan);
      return { kind: 'created', session: this.sessionFromRow(this.stmt.sessionById.get(id) as RawSession) };
    });
    return run.immediate();
  }

  async getSession(id: string) {
    const r = this.stmt.sessionById.get(id) as RawSession | undefined;
    return r ? this.sessionFromRow(r) : undefined;
  }

  async findSession(studyId: string, prolificPid: string) {
    const r = this.stmt.sessionByPid.get(studyId, prolificPid) as RawSession | undefined;
    return r ? this.sessionFromRow(r) : undefined;
  }

  async answeredIndices(sessionId: string) {
    return (this.stmt.answered.all(sessionId) as { trial_index: number }[]).map((r) => r.trial_index);
  }

  async saveTrial(row: TrialRow): Promise<SaveOutcome> {
    // One autocommit INSERT is the whole durable write: a BEGIN/COMMIT around it would cost more
    // than the insert. The statements after it need no atomicity with it: a conflict's stored
    // record never changes, and last_activity_at is a hint for the abandonment rule.
    const info = this.stmt.insertTrial.run(
      // Positional: binding fifteen named parameters from an object costs more than the insert.
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
    );
    if (info.changes === 1) {
      if (this.plans.needsTouch(row.session_id, row.received_at)) this.stmt.touch.run(row.received_at, row.session_id);
      return 'created';
    }
    const stored = this.stmt.trialData.get(row.session_id, row.trial_index) as { data: string };
    return stored.data === row.data ? 'duplicate' : 'conflict';
  }

  async trialsOfSession(sessionId: string) {
    return this.stmt.trialsOf.all(sessionId) as TrialRow[];
  }

  async setScreening(sessionId: string, passed: boolean, at: number) {
    this.db
      .prepare(
        `UPDATE sessions SET screening_passed = @passed, finished_at = @finished, last_activity_at = @at,
           state = CASE WHEN @passed = 0 THEN 'screened_out'
                        WHEN state = 'abandoned' AND abandon_reason IS NOT 'idle' THEN state
                        ELSE 'started' END,
           abandon_reason = CASE WHEN @passed = 0 OR abandon_reason IS 'idle' THEN NULL ELSE abandon_reason END
          WHERE id = @id AND screening_passed IS NULL`,
      )
      .run({ passed: passed ? 1 : 0, finished: passed ? null : at, at, id: sessionId });
  }

  async completeSession(sessionId: string, at: number) {
    this.db
      .prepare(
        `UPDATE sessions SET state = 'completed', abandon_reason = NULL, finished_at = ?, last_activity_at = ?
          WHERE id = ? AND state <> 'completed'`,
      )
      .run(at, at, sessionId);
  }

  async recordPacingViolation(sessionId: string) {
    this.stmt.pacingViolation.run(sessionId);
  }

  async checkWritable() {
    // A real write, committed, with a short wait for the lock: a request should not hang on it.
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 200');
    try {
      this.stmt.healthCheck.run(Date.now());
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  async countSessions(studyId: string): Promise<SessionCounts> {
    const counts: SessionCounts = { started: 0, completed: 0, screened_out: 0, abandoned: 0 };
    const rows = this.db
      .prepare('SELECT state, count(*) AS n FROM sessions WHERE study_id = ? AND preview = 0 GROUP BY state')
      .all(studyId) as { state: SessionState; n: number }[];
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  async listSessions(studyId: string): Promise<SessionSummary[]> {
    return (this.db.prepare(sessionSummariesSql('?', 's.id')).all(studyId) as RawSessionSummary[]).map(flagsFromRow);
  }

  async savePageReport(row: PageReportRow): Promise<'stored' | 'limit'> {
    // One statement: two reports arriving at once cannot take the same seq or pass the limit together.
    const info = this.db
      .prepare(
        `INSERT INTO page_reports (session_id, seq, report, user_agent, received_at)
         SELECT ?, count(*), ?, ?, ? FROM page_reports WHERE session_id = ? HAVING count(*) < ?`,
      )
      .run(row.session_id, row.report, row.user_agent?.slice(0, 512) ?? null, row.received_at, row.session_id, PAGE_REPORTS_PER_SESSION);
    return info.changes === 1 ? 'stored' : 'limit';
  }

  async pageReports(studyId: string): Promise<PageReportRow[]> {
    return this.db
      .prepare(
        `SELECT r.session_id, r.report, r.user_agent, r.received_at
           FROM sessions s JOIN page_reports r ON r.session_id = s.id
          WHERE s.study_id = ? ORDER BY r.session_id, r.seq`,
      )
      .all(studyId) as PageReportRow[];
  }

  async completedPayments(studyId: string): Promise<PaymentRow[]> {
    return this.db
      .prepare(
        `SELECT prolific_pid, prolific_study_id, prolific_session_id, participant_id, started_at, finished_at
           FROM sessions WHERE study_id = ? AND preview = 0 AND state = 'completed' ORDER BY finished_at, id`,
      )
      .all(studyId) as PaymentRow[];
  }

  async mainTrialCounts(studyId: string, states: readonly SessionState[]): Promise<ConditionTrialCount[]> {
    if (states.length === 0) return [];
    // Sessions first (by the (study_id, state) index), then each one's trials by primary key.
    return this.db
      .prepare(
        `SELECT t.model, t.layer, t.layer_index, s.state, count(*) AS trials, sum(t.correct) AS correct
           FROM sessions s CROSS JOIN trials t ON t.session_id = s.id
          WHERE s.study_id = ? AND s.state IN (${states.map(() => '?').join(', ')}) AND s.preview = 0 AND t.phase = 'main'
          GROUP BY t.model, t.layer, t.layer_index, s.state
          ORDER BY t.layer_index, t.model, t.layer, s.state`,
      )
      .all(studyId, ...states) as ConditionTrialCount[];
  }

  async abandonIdleSessions(studyId: string, idleBefore: number): Promise<number> {
    // One statement: a trial saved concurrently either lands before (and the session is not idle)
    // or after (and revives it), never in between.
    return this.db
      .prepare(
        `UPDATE sessions SET state = 'abandoned', abandon_reason = 'idle'
          WHERE study_id = ? AND state = 'started' AND last_activity_at < ?`,
      )
      .run(studyId, idleBefore).changes;
  }

  async recordTurnAway(t: TurnAway) {
    this.db
      .prepare('INSERT INTO turn_aways (study_id, participant_id, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(t.studyId, t.participantId, t.reason, t.at);
  }

  async turnAwayCounts(studyId: string): Promise<TurnAwayCounts> {
    const rows = this.db
      .prepare(
        `SELECT a.reason, count(*) AS n,
                sum(EXISTS (SELECT 1 FROM sessions s
                             WHERE s.study_id = a.study_id AND s.participant_id = a.participant_id AND s.preview = 0)) AS back
           FROM turn_aways a WHERE a.study_id = ? GROUP BY a.reason`,
      )
      .all(studyId) as { reason: TurnAwayReason; n: number; back: number }[];
    return turnAwayCountsOf(rows);
  }

  async linkProlificStudy(studyId: string, prolificStudyId: string, at: number) {
    return prolific.linkProlificStudy(this.db, studyId, prolificStudyId, at);
  }

  async prolificLink(studyId: string) {
    return prolific.prolificLink(this.db, studyId);
  }

  async listProlificLinks() {
    return prolific.listProlificLinks(this.db);
  }

  async prolificSessions(studyId: string) {
    return prolific.prolificSessions(this.db, studyId);
  }

  async saveProlificListing(studyId: string, rows: readonly prolific.ProlificSubmissionRow[], syncedAt: number) {
    prolific.saveProlificListing(this.db, studyId, rows, syncedAt);
  }

  async recordProlificSubmission(row: prolific.ProlificSubmissionRow) {
    return prolific.recordProlificSubmission(this.db, row);
  }

  async prolificSubmissions(studyId: string) {
    return prolific.prolificSubmissions(this.db, studyId);
  }

  async locateProlificSubmission(submissionId: string, prolificPid: string) {
    return prolific.locateProlificSubmission(this.db, submissionId, prolificPid);
  }

  async abandonSessionForProlific(sessionId: string, reason: prolific.ProlificAbandonReason) {
    return prolific.abandonSessionForProlific(this.db, sessionId, reason);
  }

  async applyWebhookEvent(e: Omit<prolific.WebhookEventRecord, 'outcome'>, row: prolific.ProlificSubmissionRow | null) {
    try {
      return prolific.applyWebhookEvent(this.db, e, row);
    } catch (err) {
      if (err instanceof prolific.DuplicateEvent) return 'duplicate' as const;
      throw err;
    }
  }

  async bonusItems(studyId: string, batch?: string) {
    return prolific.bonusItems(this.db, studyId, batch);
  }

  async createBonusRun(studyId: string, batch: string, items: readonly prolific.NewBonusItem[], at: number) {
    return prolific.createBonusRun(this.db, studyId, batch, items, at);
  }

  async bonusRuns(studyId: string) {
    return prolific.bonusRuns(this.db, studyId);
  }

  async bonusRunItems(runId: number) {
    return prolific.bonusRunItems(this.db, runId);
  }

  async advanceBonusRun(runId: number, from: prolific.BonusRunState, to: prolific.BonusRunState, at: number, setupId?: string) {
    return prolific.advanceBonusRun(this.db, runId, from, to, at, setupId);
  }

  async createAdminSession(idHash: string, createdAt: number, expiresAt: number, userAgent?: string) {
    this.db.transaction(() => {
      // Log-ins that were never used again would otherwise stay forever; each new one sweeps them.
      this.db.prepare('DELETE FROM admin_sessions WHERE expires_at <= ?').run(createdAt);
      this.db
        .prepare('INSERT INTO admin_sessions (id_hash, created_at, expires_at, user_agent) VALUES (?, ?, ?, ?)')
        .run(idHash, createdAt, expiresAt, userAgent?.slice(0, 512) ?? null);
    })();
  }

  async adminSessionValid(idHash: string, now: number) {
    const r = this.db.prepare('SELECT expires_at FROM admin_sessions WHERE id_hash = ?').get(idHash) as { expires_at: number } | undefined;
    if (!r) return false;
    if (r.expires_at > now) return true;
    this.db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
    return false;
  }

  async deleteAdminSession(idHash: string) {
    this.db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
  }

  async deleteAdminSessions(now: number) {
    const { n } = this.db.prepare('SELECT count(*) AS n FROM admin_sessions WHERE expires_at > ?').get(now) as { n: number };
    this.db.prepare('DELETE FROM admin_sessions').run();
    return n;
  }

  /** One server process per file: nothing else runs jobs on it, so the job always runs. */
  async runExclusive(_name: string, job: () => Promise<void>) {
    await job();
    return true;
  }

  /** The key file lives beside the database file and one process serves it: nothing to compare. */
  async checkParticipantKey(_fingerprint: string) {
    return true;
  }

  async close() {
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}
