/**
 * What every dashboard route module shares: its dependencies, the study being asked about, the
 * study page's view model, and the small request/response helpers.
 */
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, type AdminAuth } from '../../admin-auth.ts';
import { StudyProgressReader } from '../../admin-progress.ts';
import type { DashboardBundle } from '../../dashboard/bundle.ts';
import { analysisVersion, StudyAnalyses } from '../../dashboard/study-analysis.ts';
import type { StudyView } from '../../dashboard/study-page.ts';
import { AnalysisInputError } from '../../../analysis/input-error.ts';
import type { ParticipantSessions } from '../../participant-sessions.ts';
import { participantFlags, sessionFlags } from '../../session-quality.ts';
import type { SessionSummary, Store, StudyRow } from '../../store/store.ts';
import type { StudyProgress } from '../../admin-progress.ts';
import { userError } from '../../http-error.ts';
import { storedOverview } from '../../prolific/overview.ts';

export interface AdminRouterDeps {
  store: Store;
  sessions: ParticipantSessions;
  auth: AdminAuth;
  bundle: DashboardBundle;
  logger: Logger;
  /** Failed log-ins allowed per address and window. */
  loginAttempts?: number;
  loginWindowMs?: number;
  /** Bootstrap replicates for the dashboard's table (default: the CLI's 10,000). */
  bootstrap?: number;
  /** How many sessions the study page lists. */
  sessionRows?: number;
}

export class AdminContext {
  readonly progress: StudyProgressReader;
  readonly analyses: StudyAnalyses;
  readonly forms = express.urlencoded({ extended: false, limit: '64kb' });
  readonly json = express.json({ limit: '256kb' });

  constructor(readonly deps: AdminRouterDeps) {
    this.progress = new StudyProgressReader(deps.store);
    this.analyses = new StudyAnalyses(deps.store.studyData, { bootstrap: deps.bootstrap });
  }

  /** The study named by the route's `:id`, or a 404 naming it. */
  async studyOf(req: Request): Promise<StudyRow> {
    const study = await this.deps.store.getStudy(String(req.params.id));
    if (!study) throw userError(`no study "${req.params.id}"`, 404);
    return study;
  }

  /**
   * What the study's analysis depends on: its data version and, when its exclusions include the
   * `flagged` rule, the participants' quality flags (which then also enter the version).
   */
  async analysisInputs(study: StudyRow, p: StudyProgress, all?: SessionSummary[]) {
    const version = analysisVersion(p, study.config.exclusions.incomplete);
    if (!study.config.exclusions.flagged) return { version, flags: undefined };
    const flags = await participantFlags(this.deps.store, study, all);
    let flagged = 0;
    for (const f of flags.values()) if (f.length > 0) flagged++;
    return { version: `${version}.f${flagged}`, flags };
  }

  /** The study page's view: progress, the (cached) analysis, the latest sessions. */
  async studyView(req: Request, study: StudyRow): Promise<StudyView> {
    const all = await this.deps.store.listSessions(study.id);
    const p = await this.progress.progress(study, publicBase(req), all);
    const { version, flags: byParticipant } = await this.analysisInputs(study, p, all);
    let analysis: StudyView['analysis'] = null;
    let analysisError: string | undefined;
    try {
      analysis = await this.analyses.get(study.id, version, true, byParticipant);
    } catch (e) {
      if (!(e instanceof AnalysisInputError)) throw e;
      analysisError = e.message;
    }
    const n = this.deps.sessionRows ?? 100;
    const sessions = all.slice(-n).reverse();
    const flags = await sessionFlags(this.deps.store, study, all, sessions);
    const prolific = await storedOverview(this.deps.store, study.id, false);
    return { progress: p, analysis, analysisError, sessions, sessionsTotal: all.length, flags, prolific };
  }

  /** The study's analysis at its current version (recomputed when sessions changed). */
  async analysisOf(req: Request) {
    const study = await this.studyOf(req);
    const p = await this.progress.progress(study, publicBase(req));
    const { version, flags } = await this.analysisInputs(study, p);
    return { study, ...(await this.analyses.get(study.id, version, false, flags)) };
  }
}

/** A path on this dashboard to return to after logging in; anything else becomes /admin. */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith(ADMIN_PREFIX) || value.startsWith('//')) return ADMIN_PREFIX;
  const rest = value.slice(ADMIN_PREFIX.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return ADMIN_PREFIX;
  if (/[\s\\]/.test(value) || value.includes('/login')) return ADMIN_PREFIX;
  return value;
}

export function publicBase(req: Request): string {
  const configured = process.env.METAMER_PUBLIC_URL;
  if (configured) return configured.replace(/\/+$/, '');
  // req.protocol and req.host honour X-Forwarded-* only when `trust proxy` says so (proxy-trust.ts).
  return `${req.protocol}://${req.host}`;
}

export function attachment(res: Response, filename: string, mime: string, body: string | Uint8Array): void {
  res
    .status(200)
    .type(mime)
    .set('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
    .send(typeof body === 'string' ? body : Buffer.from(body));
}

export function studyUrl(id: string, query = ''): string {
  return `${ADMIN_PREFIX}/studies/${encodeURIComponent(id)}${query}`;
}
