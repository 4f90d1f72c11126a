/**
 * The experimenter's side: log-in, the dashboard pages, their live parts, downloads and a small
 * JSON API. Two routers under /admin: `public` (log-in page and form, the dashboard's static
 * assets) and `protected`, whose first handler refuses anybody without a log-in cookie — every
 * route added to it is covered, which test/api/admin-auth.test.ts checks by walking its stack.
 *
 * Thin: parse, call the modules (studies.ts, admin-progress.ts, abandonment.ts, analysis/), render.
 */
import { ZodError } from 'zod';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, Router } from 'express';
import type { Logger } from 'pino';
import { resultsToJson, resultToMarkdown, tableToCsv } from '../../analysis/report-format.ts';
import { psychDsDataFile, psychDsDataset, psychDsZip } from '../../analysis/psych-ds.ts';
import { loadTrialsExport, trialsToCsv } from '../../analysis/trials-export.ts';
import { sweepStudy } from '../abandonment.ts';
import { ADMIN_PREFIX, type AdminAuth, loginRateLimit, sameOriginWrites } from '../admin-auth.ts';
import { StudyProgressReader } from '../admin-progress.ts';
import type { DashboardBundle } from '../dashboard/bundle.ts';
import { loginPage } from '../dashboard/login-page.ts';
import { configFromForm, blankForm, fieldOfPath, FormError, NewStudyForm } from '../dashboard/new-study-form.ts';
import { newStudyPage } from '../dashboard/new-study-page.ts';
import { paymentsCsv, paymentsPage } from '../dashboard/payments-page.ts';
import { studiesPage, studiesTable } from '../dashboard/studies-page.ts';
import { analysisVersion, StudyAnalyses } from '../dashboard/study-analysis.ts';
import { AnalysisInputError } from '../../analysis/input-error.ts';
import { studyBody, studyHead, studyPage, type StudyPageNotice, type StudyView } from '../dashboard/study-page.ts';
import { html } from '../dashboard/html.ts';
import { page } from '../dashboard/layout.ts';
import type { ParticipantSessions } from '../participant-sessions.ts';
import { changeStudyStatus, createStudy, type StudyAction } from '../studies.ts';
import type { Store, StudyRow } from '../store/store.ts';
import { pageAssetHandler } from '../experiment-bundle.ts';
import { userError } from '../http-error.ts';

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

export interface AdminRouters {
  /** Mount this one: both routers under /admin. */
  router: Router;
  public: Router;
  protected: Router;
}

const STUDY_ACTIONS: StudyAction[] = ['launch', 'pause', 'close'];

function exposed(e: unknown): e is Error & { status?: number } {
  return e instanceof Error && (e as { expose?: unknown }).expose === true;
}

/** A path on this dashboard to return to after logging in; anything else becomes /admin. */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith(ADMIN_PREFIX) || value.startsWith('//')) return ADMIN_PREFIX;
  const rest = value.slice(ADMIN_PREFIX.length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return ADMIN_PREFIX;
  if (/[\s\\]/.test(value) || value.includes('/login')) return ADMIN_PREFIX;
  return value;
}

function wantsJson(req: Request): boolean {
  return req.is('application/json') === 'application/json' || req.accepts(['html', 'json']) === 'json';
}

function publicBase(req: Request): string {
  const configured = process.env.METAMER_PUBLIC_URL;
  if (configured) return configured.replace(/\/+$/, '');
  // req.protocol and req.host honour X-Forwarded-* only when `trust proxy` says so (proxy-trust.ts).
  return `${req.protocol}://${req.host}`;
}

function attachment(res: Response, filename: string, mime: string, body: string | Uint8Array): void {
  res
    .status(200)
    .type(mime)
    .set('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
    .send(typeof body === 'string' ? body : Buffer.from(body));
}

export function adminRouters(deps: AdminRouterDeps): AdminRouters {
  const { store, sessions, auth, bundle, logger } = deps;
  const progress = new StudyProgressReader(store);
  const analyses = new StudyAnalyses(store.studyData, { bootstrap: deps.bootstrap });
  const forms = express.urlencoded({ extended: false, limit: '64kb' });
  const json = express.json({ limit: '256kb' });

  // ---- public: log-in and assets ------------------------------------------------------------
  const pub = Router();
  pub.get('/assets/:name', pageAssetHandler(bundle));

  pub.get('/login', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (await auth.isLoggedIn(req)) return void res.redirect(303, safeNext(req.query.next));
    res.type('html').send(loginPage(bundle, { next: safeNext(req.query.next) }));
  });

  const limited: RequestHandler = (req, res) => {
    const minutes = Math.ceil((deps.loginWindowMs ?? 15 * 60_000) / 60_000);
    const message = `Too many failed log-ins from this address. Try again in ${minutes} minutes.`;
    res.set('Cache-Control', 'no-store');
    if (wantsJson(req)) return void res.status(429).json({ error: message, code: 'rate_limited' });
    res.status(429).type('html').send(loginPage(bundle, { error: message }));
  };
  pub.post(
    '/login',
    loginRateLimit({ attempts: deps.loginAttempts, windowMs: deps.loginWindowMs, onLimited: limited }),
    forms,
    json,
    async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const next = safeNext(body.next);
      const value = token ? await auth.logIn(token, req.get('user-agent')) : null;
      if (!value) {
        logger.warn({ ip: req.ip }, 'admin log-in refused');
        if (wantsJson(req)) return void res.status(401).json({ error: 'wrong admin token', code: 'unauthorized' });
        return void res.status(401).type('html').send(loginPage(bundle, { next, error: 'That is not the admin token.' }));
      }
      auth.setCookie(req, res, value);
      logger.info({ ip: req.ip }, 'admin logged in');
      if (wantsJson(req)) return void res.json({ ok: true });
      res.redirect(303, next);
    },
  );

  // ---- protected: everything else ---------------------------------------------------------
  const prot = Router();
  prot.use(async (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (await auth.isLoggedIn(req)) return next();
    res.set('WWW-Authenticate', 'Cookie realm="metamer admin", form-action="/admin/login"');
    if (req.method === 'GET' && !req.path.startsWith('/api/') && req.accepts(['html', 'json']) === 'html') {
      return void res.status(401).type('html').send(loginPage(bundle, { next: safeNext(req.originalUrl) }));
    }
    res.status(401).json({ error: 'log in first: POST /admin/login with the admin token', code: 'unauthorized' });
  });

  const studyOf = async (req: Request): Promise<StudyRow> => {
    const study = await store.getStudy(String(req.params.id));
    if (!study) throw userError(`no study "${req.params.id}"`, 404);
    return study;
  };

  const listItems = async () =>
    Promise.all((await store.listStudies()).map(async (study) => ({ study, counts: await store.countSessions(study.id) })));

  const studyView = async (req: Request, study: StudyRow): Promise<StudyView> => {
    const all = await store.listSessions(study.id);
    const p = await progress.progress(study, publicBase(req), all);
    const version = analysisVersion(p, study.config.exclusions.incomplete);
    let analysis: StudyView['analysis'] = null;
    let analysisError: string | undefined;
    try {
      analysis = await analyses.get(study.id, version, true);
    } catch (e) {
      if (!(e instanceof AnalysisInputError)) throw e;
      analysisError = e.message;
    }
    const n = deps.sessionRows ?? 100;
    return { progress: p, analysis, analysisError, sessions: all.slice(-n).reverse(), sessionsTotal: all.length };
  };

  prot.post('/logout', async (req, res) => {
    await auth.logOut(req);
    auth.clearCookie(req, res);
    if (wantsJson(req)) return void res.json({ ok: true });
    res.redirect(303, `${ADMIN_PREFIX}/login`);
  });

  prot.get('/', async (req, res) => {
    const notice = typeof req.query.notice === 'string' ? req.query.notice.slice(0, 200) : undefined;
    res.type('html').send(studiesPage(bundle, await listItems(), notice));
  });

  prot.get('/live', async (_req, res) => {
    res.json({ parts: { list: studiesTable(await listItems()).value } });
  });

  prot.get('/studies/new', async (_req, res) => {
    res.type('html').send(newStudyPage(bundle, await store.listStimulusSets(), blankForm()));
  });

  prot.post('/studies', forms, json, async (req, res) => {
    if (req.is('application/json')) {
      // The JSON API: the body is a study config, as in `metamer study create <config.json>`.
      const row = await createStudy(store, req.body);
      return void res.status(201).json({ id: row.id, status: row.status });
    }
    const sets = await store.listStimulusSets();
    const form = NewStudyForm.parse(req.body ?? {});
    try {
      let row = await createStudy(store, configFromForm(form, sets));
      if (form.launch) row = await changeStudyStatus(store, row.id, 'launch');
      sessions.forget(row.id);
      res.redirect(303, `${ADMIN_PREFIX}/studies/${encodeURIComponent(row.id)}?done=created`);
    } catch (e) {
      let problems: { field: string; message: string }[];
      if (e instanceof FormError) problems = e.problems;
      else if (e instanceof ZodError) problems = e.issues.map((i) => ({ field: fieldOfPath(i.path), message: `${i.path.join('.') || 'config'}: ${i.message}` }));
      else if (exposed(e)) problems = [{ field: 'general', message: e.message }];
      else throw e;
      res.status(422).type('html').send(newStudyPage(bundle, sets, form, problems));
    }
  });

  const NOTICES: Record<string, StudyPageNotice> = {
    created: { kind: 'ok', text: 'Study created.' },
    launch: { kind: 'ok', text: 'The study is live: paste the URL below into Prolific.' },
    pause: { kind: 'info', text: 'Paused: new participants are turned away; those in a session may finish.' },
    close: { kind: 'info', text: 'Closed: no new participants; those in a session may finish.' },
  };

  prot.get('/studies/:id', async (req, res) => {
    const study = await studyOf(req);
    let notice: StudyPageNotice | undefined;
    const done = typeof req.query.done === 'string' ? req.query.done : undefined;
    if (done && NOTICES[done]) notice = NOTICES[done];
    if (done === 'sweep') notice = { kind: 'info', text: `Idle sessions checked: ${Number(req.query.n) || 0} marked abandoned.` };
    if (req.query.preview === 'completed') notice = { kind: 'ok', text: 'Your preview run is complete. It is not counted, and participants never see it.' };
    if (req.query.preview === 'screened_out') notice = { kind: 'info', text: 'Your preview run ended at the screening (below the threshold). It is not counted.' };
    res.type('html').send(studyPage(bundle, await studyView(req, study), notice));
  });

  prot.get('/studies/:id/live', async (req, res) => {
    const v = await studyView(req, await studyOf(req));
    res.json({ parts: { head: studyHead(v).value, body: studyBody(v).value } });
  });

  for (const action of STUDY_ACTIONS) {
    prot.post(`/studies/:id/${action}`, async (req, res) => {
      const row = await changeStudyStatus(store, String(req.params.id), action);
      sessions.forget(row.id);
      logger.info({ study: row.id, status: row.status }, `study ${action}`);
      if (wantsJson(req)) return void res.json({ id: row.id, status: row.status });
      res.redirect(303, `${ADMIN_PREFIX}/studies/${encodeURIComponent(row.id)}?done=${action}`);
    });
  }

  prot.post('/studies/:id/sweep', async (req, res) => {
    const study = await studyOf(req);
    const n = await sweepStudy(store, study);
    if (wantsJson(req)) return void res.json({ id: study.id, abandoned: n });
    res.redirect(303, `${ADMIN_PREFIX}/studies/${encodeURIComponent(study.id)}?done=sweep&n=${n}`);
  });

  prot.post('/studies/:id/preview', async (req, res) => {
    const study = await studyOf(req);
    const { session, prolificPid } = await sessions.startPreview(study.id);
    const url = `/run/${encodeURIComponent(study.id)}?PROLIFIC_PID=${encodeURIComponent(prolificPid)}&STUDY_ID=preview&SESSION_ID=preview`;
    logger.info({ study: study.id, session: session.participant_id }, 'preview started');
    if (wantsJson(req)) return void res.status(201).json({ url: publicBase(req) + url, participant_id: session.participant_id });
    res.redirect(303, url);
  });

  prot.get('/studies/:id/payments', async (req, res) => {
    const study = await studyOf(req);
    res.type('html').send(paymentsPage(bundle, study, await store.completedPayments(study.id)));
  });

  prot.get('/studies/:id/payments.csv', async (req, res) => {
    const study = await studyOf(req);
    attachment(res, `${study.id}_payments.csv`, 'text/csv; charset=utf-8', paymentsCsv(await store.completedPayments(study.id)));
  });

  const analysisOf = async (req: Request) => {
    const study = await studyOf(req);
    const p = await progress.progress(study, publicBase(req));
    const version = analysisVersion(p, study.config.exclusions.incomplete);
    return { study, ...(await analyses.get(study.id, version)) };
  };

  prot.get('/studies/:id/figure.svg', async (req, res) => {
    const study = await studyOf(req);
    const p = await progress.progress(study, publicBase(req));
    // The page's figure goes with the page's (possibly slightly older) table.
    const svg = await analyses.figure(await analyses.get(study.id, analysisVersion(p, study.config.exclusions.incomplete), true));
    if (svg === null) return void res.status(404).type('text').send('No participant is included yet: there is no figure.\n');
    res.set('Cache-Control', 'private, max-age=3600').type('image/svg+xml').send(svg);
  });

  prot.get('/studies/:id/recognizability.csv', async (req, res) => {
    const { study, result } = await analysisOf(req);
    attachment(res, `${study.id}_recognizability.csv`, 'text/csv; charset=utf-8', tableToCsv(result.table));
  });
  prot.get('/studies/:id/recognizability.json', async (req, res) => {
    const { study, result } = await analysisOf(req);
    attachment(res, `${study.id}_recognizability.json`, 'application/json; charset=utf-8', resultsToJson([result]));
  });
  prot.get('/studies/:id/recognizability.md', async (req, res) => {
    const { study, result } = await analysisOf(req);
    attachment(res, `${study.id}_recognizability.md`, 'text/markdown; charset=utf-8', resultToMarkdown(result));
  });

  prot.get('/studies/:id/trials.csv', async (req, res) => {
    const study = await studyOf(req);
    attachment(res, `${study.id}_trials.csv`, 'text/csv; charset=utf-8', trialsToCsv(await loadTrialsExport(store.studyData, study.id)));
  });

  prot.get('/studies/:id/psych-ds.zip', async (req, res) => {
    const study = await studyOf(req);
    const folder = psychDsDataFile(study.id).replace(/^data\//, '').replace(/_data\.csv$/, '');
    attachment(res, `${folder}_psych-ds.zip`, 'application/zip', psychDsZip(psychDsDataset(await loadTrialsExport(store.studyData, study.id)), folder));
  });

  prot.get('/api/studies', async (req, res) => {
    const studies = await store.listStudies();
    res.json(await Promise.all(studies.map((s) => progress.progress(s, publicBase(req)))));
  });

  prot.get('/api/studies/:id', async (req, res) => {
    const v = await studyView(req, await studyOf(req));
    res.json({
      progress: v.progress,
      recognizability: v.analysis?.result.table ?? [],
      exclusions: v.analysis?.result.exclusions ?? null,
      recognizability_computed_at: v.analysis ? new Date(v.analysis.computedAt).toISOString() : null,
      analysis_error: v.analysisError ?? null,
    });
  });

  prot.use((req, res) => {
    if (wantsJson(req) || req.path.startsWith('/api/')) return void res.status(404).json({ error: 'no such admin route', code: 'not_found' });
    res.status(404).type('html').send(errorPage(bundle, 404, 'Not found', 'There is nothing at this address.'));
  });

  const onError = (loggedIn: boolean): ErrorRequestHandler => (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; statusCode?: number; message?: string; expose?: boolean };
    let status = e.status ?? e.statusCode ?? 500;
    let message = 'Something went wrong on the server; the error was logged.';
    if (err instanceof ZodError) {
      status = 422;
      message = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    } else if (exposed(err) || (status >= 400 && status < 500)) {
      message = e.message ?? 'bad request';
      if (status >= 500) status = 422;
    } else {
      status = 500;
      logger.error({ err, method: req.method, path: req.originalUrl }, 'admin request failed');
    }
    if (wantsJson(req) || req.path.startsWith('/api/')) return void res.status(status).json({ error: message, code: status === 500 ? 'internal' : 'admin_error' });
    res.status(status).type('html').send(errorPage(bundle, status, status === 404 ? 'Not found' : 'That did not work', message, loggedIn));
  };
  prot.use(onError(true));
  pub.use(onError(false));

  const router = Router();
  router.use(ADMIN_PREFIX, sameOriginWrites);
  router.use(ADMIN_PREFIX, pub);
  router.use(ADMIN_PREFIX, prot);
  return { router, public: pub, protected: prot };
}

function errorPage(bundle: DashboardBundle, status: number, heading: string, text: string, loggedIn = true): string {
  return page({
    title: heading,
    bundle,
    loggedIn,
    body: html`<div class="page-head"><div><h1>${heading}</h1></div></div>
<section class="card"><p>${text}</p><p class="muted small">HTTP ${status}</p><p><a class="btn btn-secondary" href="/admin">Back to the studies</a></p></section>`,
  });
}
