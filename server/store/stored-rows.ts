/**
 * What both stores share: the columns a session is read with, how stored rows become the Store's
 * rows, and the in-memory cache of parsed session plans. The SQL here is the common subset of
 * SQLite and PostgreSQL; placeholders stay in each store.
 */
import { randomBytes } from 'node:crypto';
import type { SessionState, TurnAwayReason } from '../../experiment/contract.ts';
import type { SessionPlan } from '../session-plan.ts';
import type { StudyConfig, StudyStatus } from '../study-config.ts';
import type { SessionRow, SessionSummary, StudyRow, TurnAwayCounts } from './store.ts';

export interface RawStudy {
  id: string;
  set_name: string;
  config: string;
  status: StudyStatus;
  created_at: number;
  updated_at: number;
}

export interface RawSession {
  id: string;
  study_updated_at: number;
  study_id: string;
  participant_id: string;
  slot: number;
  state: SessionState;
  preview: number;
  screening_passed: number | null;
  prolific_session_id: string | null;
  n_trials: number;
  started_at: number;
  last_activity_at: number;
  finished_at: number | null;
}

export type RawSessionSummary = Omit<SessionSummary, 'preview' | 'screening_passed'> & { preview: number; screening_passed: number | null };

// With the study's version, so that a trial save reads everything it needs in one statement.
export const SESSION_COLUMNS = `s.id, s.study_id, s.participant_id, s.slot, s.state, s.preview, s.screening_passed, s.prolific_session_id, s.n_trials,
  s.started_at, s.last_activity_at, s.finished_at, st.updated_at AS study_updated_at`;
export const SESSIONS_WITH_STUDY = 'sessions s JOIN studies st ON st.id = s.study_id';

/** Session summaries of one study, oldest first: `study` is the store's placeholder, `orderId` its byte-order id. */
export const sessionSummariesSql = (
  study: string,
  orderId: string,
) => `SELECT s.id, s.participant_id, s.slot, s.state, s.preview, s.screening_passed, s.n_trials,
       -- A completed session holds every planned trial; only the others are counted.
       CASE WHEN s.state = 'completed' THEN s.n_trials
            ELSE (SELECT count(*) FROM trials t WHERE t.session_id = s.id) END AS answered,
       s.pacing_violations, s.started_at, s.last_activity_at, s.finished_at
  FROM sessions s WHERE s.study_id = ${study} ORDER BY s.started_at, ${orderId}`;

export function studyFromRow(r: RawStudy): StudyRow {
  return { ...r, config: JSON.parse(r.config) as StudyConfig };
}

export function flagsFromRow<T extends { preview: number; screening_passed: number | null }>(
  r: T,
): Omit<T, 'preview' | 'screening_passed'> & { preview: boolean; screening_passed: boolean | null } {
  return { ...r, preview: r.preview === 1, screening_passed: r.screening_passed === null ? null : r.screening_passed === 1 };
}

export function newSessionToken(): string {
  return randomBytes(18).toString('base64url');
}

/** The lowest slot no started or completed session holds, from the held slots in ascending order. */
export function lowestFreeSlot(held: Iterable<number>): number {
  // Screened-out and abandoned sessions give theirs back, so completed participants fill the
  // Latin square in order.
  let slot = 0;
  for (const h of held) {
    if (h === slot) slot++;
    else if (h > slot) break;
  }
  return slot;
}

/** Sessions whose parsed plan stays in memory (a launch has a few hundred in progress at once). */
const PLAN_CACHE_SESSIONS = 2000;
/** last_activity_at is written at most this often per session (the abandonment rule counts minutes). */
export const TOUCH_EVERY_MS = 20_000;

/**
 * Plans never change once written; parsing one per trial POST would dominate the hot path. At
 * paper scale a plan is ~160 KB in memory: the cache holds the sessions in progress, not all ever.
 * It also remembers when each session's activity was last written (see `needsTouch`).
 */
export class PlanCache {
  private readonly plans = new Map<string, SessionPlan>();
  private readonly touched = new Map<string, number>();

  remember(id: string, plan: SessionPlan): void {
    this.plans.set(id, plan);
    for (const oldest of this.plans.keys()) {
      if (this.plans.size <= PLAN_CACHE_SESSIONS) break;
      this.plans.delete(oldest);
      this.touched.delete(oldest);
    }
  }

  /** The cached plan, now the most recently used; undefined when it must be read. */
  get(id: string): SessionPlan | undefined {
    const plan = this.plans.get(id);
    if (plan) {
      // Least recently used first out: keep this one at the end.
      this.plans.delete(id);
      this.plans.set(id, plan);
    }
    return plan;
  }

  /**
   * True when a trial received at `at` should write the session's last activity: at most every
   * TOUCH_EVERY_MS per session; a session idle for longer (an abandoned one coming back) is always
   * touched, and so revived. Records the write.
   */
  needsTouch(sessionId: string, at: number): boolean {
    const last = this.touched.get(sessionId);
    if (last !== undefined && at - last < TOUCH_EVERY_MS) return false;
    this.touched.set(sessionId, at);
    return true;
  }
}

export function sessionFromRow(r: RawSession, plan: SessionPlan): SessionRow {
  return { ...flagsFromRow(r), plan };
}

/** Turn-away counts from rows of (first reason, participants, of whom came back with a session). */
export function turnAwayCountsOf(rows: readonly { reason: TurnAwayReason; n: number; back: number }[]): TurnAwayCounts {
  const out: TurnAwayCounts = { total: 0, by_reason: {}, came_back: 0 };
  for (const r of rows) {
    out.total += r.n;
    out.came_back += r.back;
    out.by_reason[r.reason] = r.n;
  }
  return out;
}
