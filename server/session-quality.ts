/**
 * Quality flags of a study's sessions, from the Store (either implementation): each session's
 * stored trials and page reports go through the pure derivation in analysis/quality-flags.ts with
 * the study's `quality` thresholds. Used by the dashboard's sessions table, the payments page and
 * CSV, `metamer study payments`, `metamer analyze --exclude-flagged`, and Prolific approval.
 *
 * Reading a session's trials is the cost (hundreds of rows, each record's JSON parsed), so each
 * session's summary is kept while its stored trial count, state, pacing count and reports are
 * unchanged: trials are never rewritten once stored, so those say when a summary is stale. A
 * completed session is read once per server process; one in progress at most every
 * IN_PROGRESS_REFRESH_MS, so that a dashboard polled during a launch does not re-read a hundred
 * growing sessions every few seconds.
 */
import {
  DEFAULT_QUALITY_RULES,
  type QualityFlag,
  QualityRules,
  type SessionQualitySummary,
  studyQualityFlags,
  summariseSession,
} from '../analysis/quality-flags.ts';
import type { PageReportRow, PaymentRow, SessionSummary, Store, StudyRow } from './store/store.ts';

interface CachedSummary {
  key: string;
  at: number;
  summary: SessionQualitySummary;
}

interface StoreCache {
  /** Per session id. */
  summaries: Map<string, CachedSummary>;
}

const caches = new WeakMap<Store, StoreCache>();
/** Summaries kept per store (a few KB each); the least recently used go first. */
const SUMMARIES_KEPT = 10_000;
const IN_PROGRESS_REFRESH_MS = 30_000;

function cacheOf(store: Store): StoreCache {
  let c = caches.get(store);
  if (!c) caches.set(store, (c = { summaries: new Map() }));
  return c;
}

/** The study's thresholds: its config's `quality` section, defaults for configs stored before it existed. */
export function qualityRulesOf(study: StudyRow): QualityRules {
  const q = (study.config as { quality?: unknown }).quality;
  return q === undefined ? DEFAULT_QUALITY_RULES : QualityRules.parse(q);
}

async function summaryOf(store: Store, s: SessionSummary, reports: PageReportRow[]): Promise<SessionQualitySummary> {
  const cache = cacheOf(store).summaries;
  const key = `${s.answered}|${s.state}|${s.finished_at}|${s.pacing_violations}|${reports.length}`;
  const hit = cache.get(s.id);
  const now = Date.now();
  if (hit && (hit.key === key || (s.state === 'started' && hit.summary.state === 'started' && now - hit.at < IN_PROGRESS_REFRESH_MS))) {
    cache.delete(s.id);
    cache.set(s.id, hit);
    return hit.summary;
  }
  const summary = summariseSession({
    state: s.state,
    preview: s.preview,
    started_at: s.started_at,
    finished_at: s.finished_at,
    pacing_violations: s.pacing_violations,
    trials: await store.trialsOfSession(s.id),
    reports,
  });
  cache.delete(s.id);
  cache.set(s.id, { key, at: now, summary });
  for (const oldest of cache.keys()) {
    if (cache.size <= SUMMARIES_KEPT) break;
    cache.delete(oldest);
  }
  return summary;
}

/**
 * Flags of the sessions in `which` (all of the study's by default), keyed by session id; a session
 * without flags maps to []. `all` is every session of the study (the completion-time rule compares
 * a session with the others), as `store.listSessions` returns them.
 */
export async function sessionFlags(
  store: Store,
  study: StudyRow,
  all: readonly SessionSummary[],
  which: readonly SessionSummary[] = all,
): Promise<Map<string, QualityFlag[]>> {
  const reportsBySession = new Map<string, PageReportRow[]>();
  for (const r of await store.pageReports(study.id)) {
    const list = reportsBySession.get(r.session_id);
    if (list) list.push(r);
    else reportsBySession.set(r.session_id, [r]);
  }
  const rules = qualityRulesOf(study);
  const judged = new Map<string, SessionQualitySummary>();
  for (const s of which) judged.set(s.id, await summaryOf(store, s, reportsBySession.get(s.id) ?? []));
  // The completion-time rule needs every session's duration, which the summaries of `all` hold
  // without reading any trial: only state and times enter completionStats.
  return studyQualityFlags(judged, rules, all);
}

/** Every session's flags, by session id: what Prolific approval decides on. */
export async function studySessionFlags(store: Store, study: StudyRow): Promise<Map<string, QualityFlag[]>> {
  return sessionFlags(store, study, await store.listSessions(study.id));
}

export type FlaggedPayment = PaymentRow & { flags: QualityFlag[] };

/** The payments rows (completed, non-preview sessions) with each one's flags. */
export async function paymentsWithFlags(store: Store, study: StudyRow): Promise<FlaggedPayment[]> {
  const [rows, all] = await Promise.all([store.completedPayments(study.id), store.listSessions(study.id)]);
  // One session per participant and study: the pseudonymous id joins the two without the token.
  const completed = all.filter((s) => s.state === 'completed' && !s.preview);
  const flags = await sessionFlags(store, study, all, completed);
  const byParticipant = new Map(completed.map((s) => [s.participant_id, flags.get(s.id) ?? []]));
  return rows.map((r) => ({ ...r, flags: byParticipant.get(r.participant_id) ?? [] }));
}

/** Every non-preview participant's flags, by pseudonymous participant id: the `flagged` exclusion's input. */
export async function participantFlags(
  store: Store,
  study: StudyRow,
  sessions?: readonly SessionSummary[],
): Promise<Map<string, QualityFlag[]>> {
  const all = sessions ?? (await store.listSessions(study.id));
  const flags = await sessionFlags(store, study, all);
  return new Map(all.filter((s) => !s.preview).map((s) => [s.participant_id, flags.get(s.id) ?? []]));
}
