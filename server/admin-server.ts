/**
 * The experimenter's side of a running server, put together: the admin token (printed once when
 * generated), log-ins, the dashboard's bundle, the /admin routers and the abandonment sweeper.
 * `startServer` calls `setUpAdmin` and mounts `router`; `stop` ends the sweeper.
 */
import type { Router } from 'express';
import type { Logger } from 'pino';
import { startAbandonmentSweeper } from './abandonment.ts';
import { AdminAuth } from './admin-auth.ts';
import { type AdminTokenSource, loadAdminToken } from './admin-token.ts';
import { buildDashboardBundle, type DashboardBundle } from './dashboard/bundle.ts';
import type { ParticipantSessions } from './participant-sessions.ts';
import { adminRouters } from './routes/admin/index.ts';
import type { Store } from './store/store.ts';
import { envNumber } from './env-number.ts';

export interface AdminOptions {
  store: Store;
  sessions: ParticipantSessions;
  tokenFile: string;
  logger: Logger;
  /** How often the server looks for idle sessions (default 1 min; env METAMER_ABANDON_SWEEP_MS). */
  sweepIntervalMs?: number;
  loginAttempts?: number;
  loginWindowMs?: number;
  sessionHours?: number;
}

export interface AdminServer {
  /** Where the token came from; `created` when this start generated it (show it, once). */
  token: Omit<AdminTokenSource, 'token'> & { token: string };
  auth: AdminAuth;
  bundle: DashboardBundle;
  /** Mounted in the app (both routers under /admin). */
  router: Router;
  /** The router every protected route is in (tests walk its stack). */
  protectedRouter: Router;
  publicRouter: Router;
  stop(): Promise<void>;
}

export async function setUpAdmin(o: AdminOptions): Promise<AdminServer> {
  const token = loadAdminToken(o.tokenFile);
  const auth = new AdminAuth(o.store, {
    // Read again at each log-in: `metamer admin token --rotate` needs no restart.
    token: () => (token.origin === 'env' ? token.token : loadAdminToken(o.tokenFile).token),
    sessionHours: o.sessionHours,
  });
  const bundle = await buildDashboardBundle();
  const routers = adminRouters({
    store: o.store,
    sessions: o.sessions,
    auth,
    bundle,
    logger: o.logger,
    loginAttempts: o.loginAttempts,
    loginWindowMs: o.loginWindowMs,
  });
  const envSweep = envNumber('METAMER_ABANDON_SWEEP_MS', 0, 0);
  const sweeper = startAbandonmentSweeper(o.store, {
    intervalMs: o.sweepIntervalMs ?? (envSweep > 0 ? envSweep : undefined),
    logger: o.logger,
  });
  return {
    token,
    auth,
    bundle,
    router: routers.router,
    protectedRouter: routers.protected,
    publicRouter: routers.public,
    stop: () => sweeper.stop(),
  };
}
