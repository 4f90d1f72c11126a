/**
 * The narrow interface between the server's logic and its storage. Routes, session rules, the CLI
 * and the dashboard use only this; `open-store.ts` opens the implementation the database names:
 * `sqlite-store.ts` (better-sqlite3, the embedded default) or `postgres-store.ts` (several server
 * instances on one database). Methods are async for the second. A new method is added here, in
 * both stores, and (when it needs a table) in `migrations.ts` and `postgres-migrations.ts`.
 */
import type { StudyDataSource } from '../../analysis/load-study-db.ts';
import type { BlobExt } from '../../stimuli/blob-store.ts';
import type { Manifest } from '../../stimuli/manifest.ts';
import type { SessionState, TurnAwayReason } from '../../experiment/contract.ts';
import type { StudyConfig, StudyStatus } from '../study-config.ts';
import type { SessionPlan } from '../session-plan.ts';
import type { StimulusSetSummary } from './stimulus-sets.ts';
import type * as P from './prolific-store.ts';

export interface StudyRow {
  id: string;
  set_name: string;
  config: StudyConfig;
  status: StudyStatus;
  created_at: number;
  updated_at: number;
}

export interface SessionRow {
  id: string;
  study_id: string;
  participant_id: string;
  slot: number;
  state: SessionState;
  preview: boolean;
  screening_passed: boolean | null;
  /** Prolific's SESSION_ID of the submission that started it: resuming needs it (session-ownership.ts). */
  prolific_session_id: string | null;
  plan: SessionPlan;
  n_trials: number;
  started_at: number;
  last_activity_at: number;
  finished_at: number | null;
  /** The study row's `updated_at` when the session was read (tells a cached study is stale). */
  study_updated_at: number;
}

export interface NewSession {
  studyId: string;
  prolificPid: string;
  participantId: string;
  prolificStudyId?: string;
  prolificSessionId?: string;
  userAgent?: string;
  preview: boolean;
  /** False when the study is not live: only an existing session may be returned. */
  acceptNew: boolean;
  /** Refuse a new session (not an existing one) when this many non-preview sessions have completed. */
  targetCompleted: number;
  makePlan: (slot: number) => SessionPlan;
}

export type SessionStartOutcome =
  | { kind: 'created'; session: SessionRow }
  | { kind: 'existing'; session: SessionRow }
  | { kind: 'full' }
  | { kind: 'not_accepting' };

export interface TrialRow {
  session_id: string;
  trial_index: number;
  phase: string;
  stimulus_id: string;
  source_id: string;
  category: string;
  model: string;
  layer: string;
  layer_index: number;
  response: string | null;
  correct: 0 | 1;
  rt_ms: number | null;
  /** `model/layer` when this natural stimulus stood in for a missing metamer. */
  fallback_for?: string | null;
  /** Canonical JSON of what the browser sent: the idempotency key's content. */
  data: string;
  received_at: number;
}

export type SaveOutcome = 'created' | 'duplicate' | 'conflict';

export interface SessionCounts {
  started: number;
  completed: number;
  screened_out: number;
  abandoned: number;
}

/** A session as the dashboard lists it: pseudonymous, no Prolific ID. */
export interface SessionSummary {
  id: string;
  participant_id: string;
  slot: number;
  state: SessionState;
  preview: boolean;
  screening_passed: boolean | null;
  n_trials: number;
  /** Trials stored so far. */
  answered: number;
  /** Trials (and completions) refused as earlier than the protocol allows (server/pacing.ts). */
  pacing_violations: number;
  started_at: number;
  last_activity_at: number;
  finished_at: number | null;
}

/** One page load's report of automation signs (experiment/contract.ts `PageReport`), as stored. */
export interface PageReportRow {
  session_id: string;
  /** The report's canonical JSON. */
  report: string;
  /** The User-Agent header of the request that brought it (observed by the server). */
  user_agent: string | null;
  received_at: number;
}

/** A session keeps at most this many page reports (one per page load; a reload loop stops here). */
export const PAGE_REPORTS_PER_SESSION = 20;

/** A completed session as Prolific needs it for approval: the only record that carries the raw ID. */
export interface PaymentRow {
  prolific_pid: string;
  prolific_study_id: string | null;
  prolific_session_id: string | null;
  participant_id: string;
  started_at: number;
  finished_at: number;
}

/** Stored main trials of one condition from the sessions in one state (non-preview sessions only). */
export interface ConditionTrialCount {
  model: string;
  layer: string;
  layer_index: number;
  state: SessionState;
  trials: number;
  correct: number;
}

/** A participant the device check turned away before any session existed (pseudonymous). */
export interface TurnAway {
  studyId: string;
  participantId: string;
  reason: TurnAwayReason;
  at: number;
}

export interface TurnAwayCounts {
  /** Participants turned away, each counted once. */
  total: number;
  /** By the first reason each was turned away for. */
  by_reason: Partial<Record<TurnAwayReason, number>>;
  /** Of those, how many have a (non-preview) session all the same: they came back on another device. */
  came_back: number;
}

export interface Store {
  /** The database for messages (a file path, or a PostgreSQL URL without its password). */
  readonly description: string;

  saveStimulusSet(manifest: Manifest): Promise<'created' | 'unchanged'>;
  getStimulusSet(name: string): Promise<Manifest | undefined>;
  listStimulusSets(): Promise<StimulusSetSummary[]>;
  /** Registers a generated file (a noise mask, a headphone-check sound) as servable. */
  registerBlob(sha256: string, ext: BlobExt): Promise<void>;
  /** Every servable file, or only those of one set (its items and masks). */
  listBlobs(setName?: string): Promise<{ sha256: string; ext: BlobExt }[]>;

  createStudy(config: StudyConfig): Promise<StudyRow>;
  getStudy(id: string): Promise<StudyRow | undefined>;
  /** The study's last change (status or config), to know when a cached copy is stale. */
  studyUpdatedAt(id: string): Promise<number | undefined>;
  listStudies(): Promise<StudyRow[]>;
  setStudyStatus(id: string, status: StudyStatus): Promise<void>;

  /** Finds the (study, PID) session or creates it with the lowest free Latin-square slot, atomically. */
  startSession(s: NewSession): Promise<SessionStartOutcome>;
  getSession(id: string): Promise<SessionRow | undefined>;
  findSession(studyId: string, prolificPid: string): Promise<SessionRow | undefined>;
  answeredIndices(sessionId: string): Promise<number[]>;
  /** Inserts a trial; the same content again is a duplicate, different content a conflict. */
  saveTrial(row: TrialRow): Promise<SaveOutcome>;
  trialsOfSession(sessionId: string): Promise<TrialRow[]>;
  setScreening(sessionId: string, passed: boolean, at: number): Promise<void>;
  completeSession(sessionId: string, at: number): Promise<void>;
  /** Counts one request refused by the pacing check (server/pacing.ts). */
  recordPacingViolation(sessionId: string): Promise<void>;
  countSessions(studyId: string): Promise<SessionCounts>;

  /** Sessions of a study, oldest first, with how many trials each has stored. */
  listSessions(studyId: string): Promise<SessionSummary[]>;
  /** Stores a page report unless the session already has PAGE_REPORTS_PER_SESSION of them. */
  savePageReport(row: PageReportRow): Promise<'stored' | 'limit'>;
  /** Every page report of the study's sessions, by session and arrival. */
  pageReports(studyId: string): Promise<PageReportRow[]>;
  /** Completed, non-preview sessions with their Prolific IDs: for the payments view only. */
  completedPayments(studyId: string): Promise<PaymentRow[]>;
  /** Stored main-phase trials per condition and session state, non-preview sessions in `states` only. */
  mainTrialCounts(studyId: string, states: readonly SessionState[]): Promise<ConditionTrialCount[]>;
  /** Started sessions whose last activity is before `idleBefore` become abandoned; returns how many. */
  abandonIdleSessions(studyId: string, idleBefore: number): Promise<number>;

  /** Records a turn-away; a second report for the same (study, participant) changes nothing. */
  recordTurnAway(t: TurnAway): Promise<void>;
  turnAwayCounts(studyId: string): Promise<TurnAwayCounts>;
  /** The Prolific closed loop (prolific-store.ts, docs/prolific.md). Raw Prolific IDs stay behind these. */
  linkProlificStudy(studyId: string, prolificStudyId: string, at: number): Promise<P.ProlificLink>;
  prolificLink(studyId: string): Promise<P.ProlificLink | undefined>;
  listProlificLinks(): Promise<P.ProlificLink[]>;
  /** Non-preview sessions with their raw Prolific IDs, for matching submissions (never shown). */
  prolificSessions(studyId: string): Promise<P.ProlificSessionRow[]>;
  /** A complete listing of the study's submissions; an older status never overwrites a newer one. */
  saveProlificListing(studyId: string, rows: readonly P.ProlificSubmissionRow[], syncedAt: number): Promise<void>;
  recordProlificSubmission(row: P.ProlificSubmissionRow): Promise<'applied' | 'stale'>;
  prolificSubmissions(studyId: string): Promise<P.ProlificSubmissionRow[]>;
  /** The linked study a submission belongs to, or undefined. */
  locateProlificSubmission(submissionId: string, prolificPid: string): Promise<string | undefined>;
  /** A started (or idle-abandoned) session whose submission Prolific ended gives its slot back; true when it changed. */
  abandonSessionForProlific(sessionId: string, reason: P.ProlificAbandonReason): Promise<boolean>;
  /** Records a webhook event and stores its status in one transaction; 'duplicate' when seen before. */
  applyWebhookEvent(e: Omit<P.WebhookEventRecord, 'outcome'>, row: P.ProlificSubmissionRow | null): Promise<P.WebhookOutcome | 'duplicate'>;
  bonusItems(studyId: string, batch?: string): Promise<P.BonusItemRow[]>;
  createBonusRun(studyId: string, batch: string, items: readonly P.NewBonusItem[], at: number): Promise<P.BonusRunRow>;
  bonusRuns(studyId: string): Promise<P.BonusRunRow[]>;
  bonusRunItems(runId: number): Promise<P.BonusItemRow[]>;
  /** Compare-and-set of a bonus run's state; true for the one caller that moved it. */
  advanceBonusRun(runId: number, from: P.BonusRunState, to: P.BonusRunState, at: number, setupId?: string): Promise<boolean>;

  /** Experimenter log-ins, by the sha256 of the cookie value. */
  createAdminSession(idHash: string, createdAt: number, expiresAt: number, userAgent?: string): Promise<void>;
  /** True when the log-in exists and has not expired at `now`. */
  adminSessionValid(idHash: string, now: number): Promise<boolean>;
  deleteAdminSession(idHash: string): Promise<void>;
  /** Logs everybody out (token rotation); also drops expired rows. Returns how many were live. */
  deleteAdminSessions(now: number): Promise<number>;

  /** Throws when the database cannot take a write now (read-only, locked, disk full): /healthz answers 503. */
  checkWritable(): Promise<void>;

  /**
   * Runs `job` unless another server instance on this database is running the job of that name;
   * returns false when it was skipped. (One process on a SQLite file: always runs.)
   */
  runExclusive(name: string, job: () => Promise<void>): Promise<boolean>;
  /**
   * Records the participant-id key's fingerprint on first use; false when the database already
   * holds another one (an instance started with a different key would give one person two ids).
   */
  checkParticipantKey(fingerprint: string): Promise<boolean>;
  /** The analysis module's read interface on this database (loaders for `analyze`, exports, the dashboard). */
  readonly studyData: StudyDataSource;

  close(): Promise<void>;
}
