import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN_ENV, loadAdminToken, rotateAdminToken, tokenMatches } from '../../server/admin-token.ts';
import { safeNext } from '../../server/routes/admin/index.ts';
import { postJson, startTestServer, type TestServer, backdateSession } from '../support/test-server.ts';
import { adminGet, logIn } from './admin-participants.ts';

// node:crypto as it is, except that timingSafeEqual notes the lengths it compares.
const { timingSafeEqualCalls } = vi.hoisted(() => ({ timingSafeEqualCalls: [] as [number, number][] }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual: typeof real.timingSafeEqual = (a, b) => {
    timingSafeEqualCalls.push([a.byteLength, b.byteLength]);
    return real.timingSafeEqual(a, b);
  };
  return { ...real, default: { ...real, timingSafeEqual }, timingSafeEqual };
});

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every route of a router, read from its stack: [METHOD, path]. */
function routesOf(router: { stack: RouteLayer[] }): [string, string][] {
  const out: [string, string][] = [];
  for (const layer of router.stack) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push([m.toUpperCase(), layer.route.path]);
  }
  return out;
}

const concrete = (p: string) => '/admin' + p.replace(/:(\w+)/g, (_m, name: string) => (name === 'id' ? 'fixture-study' : 'x'));

async function call(server: TestServer, method: string, p: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + p, {
    method,
    headers: { Accept: 'text/html', ...headers, ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
    body: method === 'POST' ? '' : undefined,
    redirect: 'manual',
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function setCookieOf(h: Headers): string {
  return h.get('set-cookie') ?? '';
}

describe('admin routes refuse without a log-in', () => {
  let server: TestServer;
  let routes: [string, string][];
  beforeAll(async () => {
    server = await startTestServer();
    routes = routesOf(server.admin.protectedRouter as unknown as { stack: RouteLayer[] });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('reads a real list of routes from the router', () => {
    // Not a hand-written list: a sanity floor so that an empty stack cannot pass the tests below.
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.some(([m]) => m === 'POST')).toBe(true);
    expect(routes.some(([m]) => m === 'GET')).toBe(true);
  });

  it('every protected route answers 401 without a cookie, with a made-up cookie and with a malformed one', async () => {
    const forged = 'metamer_admin=' + 'A'.repeat(43);
    for (const [method, p] of routes) {
      const variants: Record<string, string>[] = [
        {},
        { Cookie: forged },
        { Cookie: 'metamer_admin=../../etc' },
        { Cookie: `metamer_admin=${server.admin.token.token}` },
      ];
      for (const headers of variants) {
        const r = await call(server, method, concrete(p), headers);
        expect(r.status, `${method} ${p} with ${JSON.stringify(headers)}`).toBe(401);
        expect(r.text).not.toContain('fixture-study</');
      }
    }
    // Paths that match no route are refused the same way: nothing about the dashboard leaks.
    expect((await call(server, 'GET', '/admin/no/such/page')).status).toBe(401);
  });

  it('a browser asking for a page gets the log-in form with the 401; scripts get JSON', async () => {
    const page = await call(server, 'GET', '/admin/studies/fixture-study');
    expect(page.status).toBe(401);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('name="token"');
    expect(page.text).toContain('value="/admin/studies/fixture-study"');
    const api = await call(server, 'GET', '/admin/api/studies', { Accept: 'application/json' });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.text)).toMatchObject({ code: 'unauthorized' });
  });

  it('with the log-in cookie every GET route answers, and no route answers 401', async () => {
    const cookie = await logIn(server);
    for (const [method, p] of routes.filter(([m]) => m === 'GET')) {
      const r = await call(server, method, concrete(p), { Cookie: cookie });
      expect(r.status, `${method} ${p}`).not.toBe(401);
      expect(r.status, `${method} ${p}`).toBeLessThan(500);
    }
  });

  it('the public part is only the log-in page, the log-in form and the static assets', () => {
    const pub = routesOf(server.admin.publicRouter as unknown as { stack: RouteLayer[] });
    expect(pub.sort()).toEqual([
      ['GET', '/assets/:name'],
      ['GET', '/login'],
      ['POST', '/login'],
    ]);
  });

  it('participant routes never need the cookie', async () => {
    const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: '0c00c1e00000000000000001' });
    expect(r.status).toBe(200);
    await backdateSession(server, r.body.session);
    const t = await postJson(`${server.url}/api/sessions/${r.body.session}/trials`, { trial_index: 0, response: 'bear', rt_ms: 500 });
    expect(t.status).toBe(200);
    const page = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=0c00c1e00000000000000002`);
    expect(page.status).toBe(200);
  });
});

describe('log-in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('sets an HttpOnly, SameSite=Strict cookie limited to /admin, not Secure over plain http', async () => {
    const res = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: server.admin.token.token, next: '/admin/studies/fixture-study' }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/studies/fixture-study');
    const c = setCookieOf(res.headers);
    expect(c).toMatch(/^metamer_admin=[A-Za-z0-9_-]{43};/);
    expect(c).toMatch(/HttpOnly/i);
    expect(c).toMatch(/SameSite=Strict/i);
    expect(c).toMatch(/Path=\/admin/);
    expect(c).toMatch(/Max-Age=43200/);
    expect(c).not.toMatch(/Secure/i);
  });

  it('stores only a hash of the cookie value; log-out ends the log-in on the server', async () => {
    const cookie = await logIn(server);
    const value = cookie.split('=')[1]!;
    const db = await server.openDb();
    const rows = await db.all<{ id_hash: string }>('SELECT id_hash FROM admin_sessions');
    await db.close();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.id_hash.includes(value))).toBe(false);
    expect((await adminGet(server, cookie, '/admin')).status).toBe(200);
    const out = await fetch(`${server.url}/admin/logout`, { method: 'POST', headers: { Cookie: cookie }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(setCookieOf(out.headers)).toMatch(/metamer_admin=;/);
    // The old cookie value, replayed, no longer works.
    expect((await adminGet(server, cookie, '/admin')).status).toBe(401);
  });

  it('an expired log-in is refused', async () => {
    const cookie = await logIn(server);
    const db = await server.openDb();
    const count = async (sql: string, ...params: unknown[]) => (await db.get<{ n: number }>(sql, ...params))!.n;
    await db.run('UPDATE admin_sessions SET expires_at = ?', Date.now() - 1);
    expect((await adminGet(server, cookie, '/admin')).status).toBe(401);
    // Expired rows do not pile up: the next log-in clears them.
    expect(await count('SELECT count(*) AS n FROM admin_sessions')).toBeGreaterThan(0);
    await logIn(server);
    expect(await count('SELECT count(*) AS n FROM admin_sessions WHERE expires_at <= ?', Date.now())).toBe(0);
    expect(await count('SELECT count(*) AS n FROM admin_sessions')).toBe(1);
    await db.close();
  });

  it('a wrong token is refused with the form again', async () => {
    const res = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'token=not-the-token-at-all',
    });
    expect(res.status).toBe(401);
    expect(setCookieOf(res.headers)).toBe('');
    expect(await res.text()).toContain('That is not the admin token.');
  });

  it('compares tokens of any length with timingSafeEqual (both hashed to 32 bytes first), never by ===', () => {
    // timingSafeEqual throws on inputs of different lengths: comparing the raw strings with it
    // would throw here, and comparing them with === would not call it at all. (A timing
    // measurement would be too noisy to assert on a shared machine; this pins the mechanism.)
    timingSafeEqualCalls.length = 0;
    expect(tokenMatches('a'.repeat(50), 'a'.repeat(50))).toBe(true);
    expect(tokenMatches('a', 'a'.repeat(50))).toBe(false);
    expect(tokenMatches('a'.repeat(50) + 'b', 'a'.repeat(50))).toBe(false);
    expect(timingSafeEqualCalls).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
  });

  it('a cross-site form post is refused even with a valid cookie', async () => {
    const cookie = await logIn(server);
    const r = await fetch(`${server.url}/admin/studies/fixture-study/pause`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: '',
      redirect: 'manual',
    });
    expect(r.status).toBe(403);
    expect((await server.store.getStudy('fixture-study'))!.status).toBe('live');
  });

  it('only sends people on to dashboard paths after logging in', () => {
    expect(safeNext('/admin/studies/x?y=1')).toBe('/admin/studies/x?y=1');
    expect(safeNext('/admin')).toBe('/admin');
    for (const bad of ['//evil.example/admin', 'https://evil.example/admin', '/administrator', '/admin\\..\\x', '/run/x', undefined, 42]) {
      expect(safeNext(bad)).toBe('/admin');
    }
  });
});

describe('log-in rate limit', () => {
  const saved = process.env.METAMER_TRUST_PROXY;
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.dispose();
    server = undefined;
    if (saved === undefined) delete process.env.METAMER_TRUST_PROXY;
    else process.env.METAMER_TRUST_PROXY = saved;
  });

  const attempt = (s: TestServer, token: string, xff?: string) =>
    fetch(`${s.url}/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(xff ? { 'X-Forwarded-For': xff } : {}) },
      body: JSON.stringify({ token }),
    });

  it('after 10 failed attempts wrong tokens are refused with 429, but the right token still logs in; successes are not counted', async () => {
    server = await startTestServer();
    for (let i = 0; i < 12; i++) expect((await attempt(server, server.admin.token.token)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await attempt(server, `wrong-token-${i}-xxxxxxxx`)).status).toBe(401);
    const limited = await attempt(server, 'wrong-token-10-xxxxxxxx');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy') ?? limited.headers.get('ratelimit')).toBeTruthy();
    expect(setCookieOf(limited.headers)).toBe('');
    // Strangers' failures from the same address do not lock the experimenter out.
    const right = await attempt(server, server.admin.token.token);
    expect(right.status).toBe(200);
    expect(setCookieOf(right.headers)).toMatch(/metamer_admin=/);
    // …and the right token does not buy wrong ones a fresh budget.
    expect((await attempt(server, 'wrong-token-11-xxxxxxxx')).status).toBe(429);
  });

  it('without trust proxy, X-Forwarded-For cannot buy a fresh budget', async () => {
    delete process.env.METAMER_TRUST_PROXY;
    server = await startTestServer();
    for (let i = 0; i < 10; i++) expect((await attempt(server, `wrong-${i}-xxxxxxxxxxxxxxxx`, `10.0.0.${i}`)).status).toBe(401);
    expect((await attempt(server, 'wrong-10-xxxxxxxxxxxxxxxx', '10.9.9.9')).status).toBe(429);
  });

  it('behind a trusted proxy each client address has its own budget, and the cookie is Secure over https', async () => {
    process.env.METAMER_TRUST_PROXY = '1';
    server = await startTestServer();
    for (let i = 0; i < 10; i++) expect((await attempt(server, `wrong-${i}-xxxxxxxxxxxxxxxx`, '203.0.113.7')).status).toBe(401);
    expect((await attempt(server, 'wrong-10-xxxxxxxxxxxxxxxx', '203.0.113.7')).status).toBe(429);
    expect((await attempt(server, 'wrong-11-xxxxxxxxxxxxxxxx', '198.51.100.2')).status).toBe(401);
    const other = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'X-Forwarded-For': '198.51.100.2',
        'X-Forwarded-Proto': 'https',
      },
      body: JSON.stringify({ token: server.admin.token.token }),
    });
    expect(other.status).toBe(200);
    expect(setCookieOf(other.headers)).toMatch(/;\s*Secure/i);
  });
});

describe('the admin token', () => {
  const saved = process.env[ADMIN_TOKEN_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[ADMIN_TOKEN_ENV];
    else process.env[ADMIN_TOKEN_ENV] = saved;
  });

  it('is generated once into a file only its owner reads, and the same file is used on the next start', async () => {
    delete process.env[ADMIN_TOKEN_ENV];
    const server = await startTestServer();
    try {
      const file = path.join(path.dirname(server.dbFile), 'admin-token');
      expect(server.admin.token).toMatchObject({ origin: 'file', file, created: true });
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8').trim()).toBe(server.admin.token.token);
      await server.close();
      const again = await server.restart();
      expect(again.admin.token).toMatchObject({ origin: 'file', created: false, token: server.admin.token.token });
      await again.close();
    } finally {
      await server.dispose();
    }
  });

  it('comes from METAMER_ADMIN_TOKEN when set; a short one is refused with a message naming the variable', async () => {
    process.env[ADMIN_TOKEN_ENV] = 'correct-horse-battery-staple-42';
    const server = await startTestServer();
    try {
      expect(server.admin.token).toMatchObject({ origin: 'env', created: false });
      expect(fs.existsSync(path.join(path.dirname(server.dbFile), 'admin-token'))).toBe(false);
      const ok = await fetch(`${server.url}/admin/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token: 'correct-horse-battery-staple-42' }),
      });
      expect(ok.status).toBe(200);
    } finally {
      await server.dispose();
    }
    expect(() => loadAdminToken('/nonexistent/admin-token', { [ADMIN_TOKEN_ENV]: 'short' })).toThrow(
      /METAMER_ADMIN_TOKEN: the admin token must be at least 16 characters/,
    );
    expect(() => rotateAdminToken('/nonexistent/admin-token', { [ADMIN_TOKEN_ENV]: 'x'.repeat(20) })).toThrow(
      /comes from METAMER_ADMIN_TOKEN/,
    );
  });

  it('a rotated token works at once on the running server, and the old one no longer does', async () => {
    delete process.env[ADMIN_TOKEN_ENV];
    const server = await startTestServer();
    try {
      const file = path.join(path.dirname(server.dbFile), 'admin-token');
      const old = server.admin.token.token;
      const fresh = rotateAdminToken(file, {});
      expect(fresh).not.toBe(old);
      const tryToken = (token: string) =>
        fetch(`${server.url}/admin/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ token }),
        });
      expect((await tryToken(old)).status).toBe(401);
      expect((await tryToken(fresh)).status).toBe(200);
    } finally {
      await server.dispose();
    }
  });
});
