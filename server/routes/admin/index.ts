/**
 * The experimenter's side: log-in, the dashboard pages, their live parts, downloads and a small
 * JSON API. Two routers under /admin: `public` (log-in page and form, the dashboard's static
 * assets) and `protected`, whose first handler refuses anybody without a log-in cookie — every
 * route added to it is covered, which test/api/admin-auth.test.ts checks by walking its stack.
 *
 * Each module beside this one adds one kind of route (pages, actions, downloads, the JSON API);
 * they stay thin: parse, call the modules (studies.ts, admin-progress.ts, abandonment.ts,
 * analysis/), render.
 */
import { type Request, Router } from 'express';
import { ADMIN_PREFIX, sameOriginWrites } from '../../admin-auth.ts';
import type { DashboardBundle } from '../../dashboard/bundle.ts';
import { html } from '../../dashboard/html.ts';
import { page } from '../../dashboard/layout.ts';
import { loginPage } from '../../dashboard/login-page.ts';
import { type ErrorPage, errorHandler } from '../../error-handler.ts';
import { pageAssetHandler } from '../../experiment-bundle.ts';
import { userError } from '../../http-error.ts';
import { actionRoutes } from './actions.ts';
import { apiRoutes } from './api.ts';
import { AdminContext, type AdminRouterDeps, safeNext } from './context.ts';
import { downloadRoutes } from './downloads.ts';
import { loginRoutes, logoutRoute } from './login.ts';
import { pageRoutes } from './pages.ts';
import { prolificRoutes } from './prolific.ts';

export { type AdminRouterDeps, safeNext } from './context.ts';

export interface AdminRouters {
  /** Mount this one: both routers under /admin. */
  router: Router;
  public: Router;
  protected: Router;
}

export function adminRouters(deps: AdminRouterDeps): AdminRouters {
  const { auth, bundle, logger } = deps;
  const ctx = new AdminContext(deps);

  const pub = Router();
  pub.get('/assets/:name', pageAssetHandler(bundle));
  loginRoutes(pub, ctx);

  const prot = Router();
  prot.use(async (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (await auth.isLoggedIn(req)) return next();
    res.set('WWW-Authenticate', 'Cookie realm="metamer admin", form-action="/admin/login"');
    if (req.method === 'GET' && !req.path.startsWith('/api/') && req.accepts(['html', 'json']) === 'html') {
      return void res
        .status(401)
        .type('html')
        .send(loginPage(bundle, { next: safeNext(req.originalUrl) }));
    }
    res.status(401).json({ error: 'log in first: POST /admin/login with the admin token', code: 'unauthorized' });
  });
  logoutRoute(prot, ctx);
  pageRoutes(prot, ctx);
  actionRoutes(prot, ctx);
  downloadRoutes(prot, ctx);
  apiRoutes(prot, ctx);
  prolificRoutes(prot, ctx);
  prot.use(() => {
    throw userError('There is nothing at this address.', 404);
  });

  const onError = (loggedIn: boolean) =>
    errorHandler({ logger, what: 'admin request failed', html: (_req: Request, p: ErrorPage) => errorPage(bundle, p, loggedIn) });
  prot.use(onError(true));
  pub.use(onError(false));

  const router = Router();
  router.use(ADMIN_PREFIX, sameOriginWrites);
  router.use(ADMIN_PREFIX, pub);
  router.use(ADMIN_PREFIX, prot);
  return { router, public: pub, protected: prot };
}

function errorPage(bundle: DashboardBundle, p: ErrorPage, loggedIn: boolean): string {
  return page({
    title: p.heading,
    bundle,
    loggedIn,
    body: html`<div class="page-head"><div><h1>${p.heading}</h1></div></div>
<section class="card"><p>${p.message}</p><p class="muted small">HTTP ${p.status}</p><p><a class="btn btn-secondary" href="/admin">Back to the studies</a></p></section>`,
  });
}
