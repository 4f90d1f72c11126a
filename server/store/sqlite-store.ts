/**
 * The Store on better-sqlite3. Every write is one transaction; with WAL and synchronous=NORMAL a
 * committed trial survives a process crash (SIGKILL), which is what "acknowledged" means here.
 */
import { randomBytes } from 'node:crypto';
import type { Manifest } from '../../stimuli/manifest.ts';
import type { SessionState } from '../../experiment/contract.ts';
import type { SessionPlan } from '../session-plan.ts';
import type { StudyConfig, StudyStatus } from '../study-config.ts';
import { type Db, openDatabase } from './database.ts';
import { getStimulusSet, listStimulusSets, saveStimulusSet } from './stimulus-sets.ts';
import * as prolific from './prolific-store.ts';
import { userError } from '../http-error.ts';
import type {
  ConditionTrialCount,
  NewSession,
  PaymentRow,
  SaveOutcome,
  SessionCounts,
  SessionRow,
  SessionStartOutcome,
  SessionSummary,
  Store,
  StudyRow,
  TrialRow,
} from './store.ts';

interface RawStudy {
  id: string;
  set_name: string;
  config: string;
  status: StudyStatus;
  created_at: number;
  updated_at: number;
}

interface RawSession {
  id: string;
  study_updated_at: number;
  study_id: string;
  participant_id: string;
  slot: number;
  state: SessionState;
  preview: number;
  screening_passed: number | null;
  n_trials: number;
  started_at: number;
  last_activity_at: number;
  finished_at: number | null;
}

// With the study's version, so that a trial save reads everything it needs in one statement.
const SESSION_COLUMNS = `s.id, s.study_id, s.participant_id, s.slot, s.state, s.preview, s.screening_passed, s.n_trials,
  s.started_at, s.last_activity_at, s.finished_at, st.updated_at AS study_updated_at`;
const SESSIONS_WITH_STUDY = 'sessions s JOIN studies st ON st.id = s.study_id';

function studyFromRow(r: RawStudy): StudyRow {
  return { ...r, config: JSON.parse(r.config) as StudyConfig };
}

const TOUCH_EVERY_MS = 20_000;
/** Sessions whose parsed plan stays in memory (a launch has a few hundred in progress at once). */
const PLAN_CACHE_SESSIONS = 2000;

export function newSessionToken(): string {
  return randomBytes(18).toString('base64url');
}

export class SqliteStore implements Store {
  readonly db: Db;
  /** Plans never change once written; parsing one per trial POST would dominate the hot path. */
  private readonly plans = new Map<string, SessionPlan>();
  private readonly touched = new Map<string, number>();
  private readonly stmt;

  constructor(file: string) {
    this.db = openDatabase(file);
    const db = this.db;
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
    };
  }

  /** At paper scale a plan is ~160 KB in memory: the cache holds the sessions in progress, not all ever. */
  private rememberPlan(id: string, plan: SessionPlan): void {
    this.plans.set(id, plan);
    for (const oldest of this.plans.keys()) {
      if (this.plans.size <= PLAN_CACHE_SESSIONS) break;
      this.plans.delete(oldest);
      this.touched.delete(oldest);
    }
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
    if (plan) {
      // Least recently used first out: keep this one at the end.
      this.plans.delete(r.id);
      this.plans.set(r.id, plan);
    } else {
      plan = JSON.parse((this.stmt.planOf.get(r.id) as { plan: string }).plan) as SessionPlan;
      this.rememberPlan(r.id, plan);
    }
    return {
      ...r,
      preview: r.preview === 1,
      screening_passed: r.screening_passed === null ? null : r.screening_passed === 1,
      plan,
    };
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
      // The lowest slot no started or completed session holds: screened-out and abandoned
      // sessions give theirs back, so completed participants fill the Latin square in order.
      let slot = 0;
      if (!s.preview) {
        for (const { slot: held } of this.stmt.heldSlots.all(s.studyId) as { slot: number }[]) {
          if (held === slot) slot++;
          else if (held > slot) break;
        }
      }
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
      this.rememberPlan(id, plan);
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
      row.session_id, row.trial_index, row.phase, row.stimulus_id, row.source_id, row.category, row.model, row.layer,
      row.layer_index, row.response, row.correct, row.rt_ms, row.data, row.received_at, row.fallback_for ?? null,
    );
    if (info.changes === 1) {
      // Written at most every TOUCH_EVERY_MS per session (the rule counts minutes); a session idle
      // for longer (an abandoned one coming back) is always touched, and so revived.
      const last = this.touched.get(row.session_id);
      if (last === undefined || row.received_at - last >= TOUCH_EVERY_MS) {
        this.stmt.touch.run(row.received_at, row.session_id);
        this.touched.set(row.session_id, row.received_at);
      }
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

  async countSessions(studyId: string): Promise<SessionCounts> {
    const counts: SessionCounts = { started: 0, completed: 0, screened_out: 0, abandoned: 0 };
    const rows = this.db
      .prepare('SELECT state, count(*) AS n FROM sessions WHERE study_id = ? AND preview = 0 GROUP BY state')
      .all(studyId) as { state: SessionState; n: number }[];
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  async listSessions(studyId: string): Promise<SessionSummary[]> {
    const rows = this.db
      .prepare(
        `SELECT s.id, s.participant_id, s.slot, s.state, s.preview, s.screening_passed, s.n_trials,
                -- A completed session holds every planned trial; only the others are counted.
                CASE WHEN s.state = 'completed' THEN s.n_trials
                     ELSE (SELECT count(*) FROM trials t WHERE t.session_id = s.id) END AS answered,
                s.started_at, s.last_activity_at, s.finished_at
           FROM sessions s WHERE s.study_id = ? ORDER BY s.started_at, s.id`,
      )
      .all(studyId) as (Omit<SessionSummary, 'preview' | 'screening_passed'> & { preview: number; screening_passed: number | null })[];
    return rows.map((r) => ({
      ...r,
      preview: r.preview === 1,
      screening_passed: r.screening_passed === null ? null : r.screening_passed === 1,
    }));
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

  close() {
    this.db.close();
  }
}
