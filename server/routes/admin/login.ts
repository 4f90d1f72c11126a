/** Log-in (public: the page and the form) and log-out. */
import type { RequestHandler, Router } from 'express';
import { ADMIN_PREFIX, loginRateLimit } from '../../admin-auth.ts';
import { loginPage } from '../../dashboard/login-page.ts';
import { wantsJson } from '../../error-handler.ts';
import { type AdminContext, safeNext } from './context.ts';

export function loginRoutes(pub: Router, ctx: AdminContext): void {
  const { auth, bundle, logger } = ctx.deps;
  pub.get('/login', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (await auth.isLoggedIn(req)) return void res.redirect(303, safeNext(req.query.next));
    res.type('html').send(loginPage(bundle, { next: safeNext(req.query.next) }));
  });

  const limited: RequestHandler = (req, res) => {
    const minutes = Math.ceil((ctx.deps.loginWindowMs ?? 15 * 60_000) / 60_000);
    const message = `Too many failed log-ins from this address. Try again in ${minutes} minutes.`;
    res.set('Cache-Control', 'no-store');
    if (wantsJson(req)) return void res.status(429).json({ error: message, code: 'rate_limited' });
    res
      .status(429)
      .type('html')
      .send(loginPage(bundle, { error: message }));
  };
  pub.post(
    '/login',
    // The body first: the limiter lets the right token through (admin-auth.ts).
    ctx.forms,
    ctx.json,
    loginRateLimit({
      attempts: ctx.deps.loginAttempts,
      windowMs: ctx.deps.loginWindowMs,
      onLimited: limited,
      isToken: (t) => auth.isToken(t),
    }),
    async (req, res) => {
      res.set('Cache-Control', 'no-store');
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = typeof body.token === 'string' ? body.token.trim() : '';
      const next = safeNext(body.next);
      const value = token ? await auth.logIn(token, req.get('user-agent')) : null;
      if (!value) {
        logger.warn({ ip: req.ip }, 'admin log-in refused');
        if (wantsJson(req)) return void res.status(401).json({ error: 'wrong admin token', code: 'unauthorized' });
        return void res
          .status(401)
          .type('html')
          .send(loginPage(bundle, { next, error: 'That is not the admin token.' }));
      }
      auth.setCookie(req, res, value);
      logger.info({ ip: req.ip }, 'admin logged in');
      if (wantsJson(req)) return void res.json({ ok: true });
      res.redirect(303, next);
    },
  );
}

export function logoutRoute(prot: Router, ctx: AdminContext): void {
  const { auth } = ctx.deps;
  prot.post('/logout', async (req, res) => {
    await auth.logOut(req);
    auth.clearCookie(req, res);
    if (wantsJson(req)) return void res.json({ ok: true });
    res.redirect(303, `${ADMIN_PREFIX}/login`);
  });
}
