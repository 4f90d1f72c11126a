/**
 * Experimenter log-in: the admin token is exchanged for a session cookie.
 *
 * Scheme: a server-side session table (`admin_sessions`), not a signed cookie. The cookie carries
 * 32 random bytes; the table keeps only their sha256 and an absolute expiry. Chosen because
 * experimenters need log-out to mean log-out (a signed cookie stays valid until it expires, even
 * after "log out"), and rotating the token must end every log-in at once: both are a DELETE here.
 * The lookup costs one indexed read per admin request, which admin traffic never notices, and the
 * table lives behind the Store interface, so several server instances on one database share it.
 *
 * The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page can make the
 * browser send it, which is what stops cross-site form posts), Path=/admin (participant routes
 * never receive it) and Secure whenever the request came over https, directly or, with
 * `trust proxy` set (proxy-trust.ts), through a proxy that says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { tokenMatches } from './admin-token.ts';
import type { Store } from './store/store.ts';
import { parse as parseCookie } from 'cookie';

export const ADMIN_PREFIX = '/admin';
export const ADMIN_COOKIE = 'metamer_admin';
/** A working day of watching a launch, then log in again. */
export const DEFAULT_SESSION_HOURS = 12;

export interface AdminAuthOptions {
  /** The token in force; called at each log-in so a rotated token file takes effect at once. */
  token: () => string;
  sessionHours?: number;
  now?: () => number;
}

function hashId(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The value of one cookie from the Cookie header. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookie(header)[name] : undefined;
}

export class AdminAuth {
  private readonly sessionMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly opts: AdminAuthOptions,
  ) {
    this.sessionMs = (opts.sessionHours ?? DEFAULT_SESSION_HOURS) * 3_600_000;
    this.now = opts.now ?? Date.now;
  }

  /** Whether `given` is the admin token in force (constant time). */
  isToken(given: string): boolean {
    return tokenMatches(given, this.opts.token());
  }

  /** A new log-in's cookie value when the token is right; null otherwise. */
  async logIn(given: string, userAgent?: string): Promise<string | null> {
    if (!this.isToken(given)) return null;
    const value = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.createAdminSession(hashId(value), now, now + this.sessionMs, userAgent);
    return value;
  }

  async isLoggedIn(req: Request): Promise<boolean> {
    const value = readCookie(req, ADMIN_COOKIE);
    // Values this server issues are 43 base64url characters; anything else is not looked up.
    if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) return false;
    return this.store.adminSessionValid(hashId(value), this.now());
  }

  async logOut(req: Request): Promise<void> {
    const value = readCookie(req, ADMIN_COOKIE);
    if (value) await this.store.deleteAdminSession(hashId(value));
  }

  setCookie(req: Request, res: Response, value: string): void {
    res.cookie(ADMIN_COOKIE, value, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: ADMIN_PREFIX,
      maxAge: this.sessionMs,
    });
  }

  clearCookie(req: Request, res: Response): void {
    res.clearCookie(ADMIN_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: ADMIN_PREFIX });
  }
}

export interface LoginLimitOptions {
  /** Failed attempts allowed per address and window (successful log-ins are not counted). */
  attempts?: number;
  windowMs?: number;
  onLimited: RequestHandler;
  /** Whether a given token is the one in force: a request carrying it is never limited (parse the body first). */
  isToken: (given: string) => boolean;
}

/**
 * Failed log-ins per client address. `req.ip` honours the app's `trust proxy` setting, so behind a
 * proxy each client has its own budget only when the proxy is trusted; otherwise all share one
 * (slower for the experimenter, never easier for a guesser: X-Forwarded-For is then ignored).
 *
 * The limit applies to wrong tokens only: the right one always logs in, so a stranger's failed
 * attempts from the same address (a shared office or proxy) cannot lock the experimenter out.
 * That gives a guesser nothing: a generated token is 32 random bytes (2²⁵⁶ values), and the limit
 * still slows down guessing a short token set by hand (at least MIN_TOKEN_LENGTH characters).
 */
export function loginRateLimit(opts: LoginLimitOptions): RequestHandler {
  return rateLimit({
    windowMs: opts.windowMs ?? 15 * 60_000,
    limit: opts.attempts ?? 10,
    skipSuccessfulRequests: true,
    skip: (req) => {
      const given = (req.body as { token?: unknown } | undefined)?.token;
      return typeof given === 'string' && opts.isToken(given.trim());
    },
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: opts.onLimited,
  });
}

/**
 * Refuses state-changing requests that a browser marks as coming from another site. SameSite=Strict
 * already keeps the cookie off them; this is the second lock (Fetch Metadata, sent by every current
 * browser; scripts and the CLI send no such header and are not affected).
 */
export const sameOriginWrites: RequestHandler = (req, res, next) => {
  const site = req.get('sec-fetch-site');
  if (req.method !== 'GET' && req.method !== 'HEAD' && site && site !== 'same-origin' && site !== 'none') {
    return void res.status(403).type('text').send('Cross-site requests are not accepted here.\n');
  }
  next();
};
