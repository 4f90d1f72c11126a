/**
 * `metamer serve` writes JSON log lines on stdout (for a log collector) and speaks to the person who
 * started it on stderr: the admin token is a secret, and never goes among the collected logs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort, spawnServer } from '../support/server-process.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serve-output-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts the server on a fresh port, makes it log a request, stops it; returns what it wrote. */
async function serveOnce(env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const server = await spawnServer(path.join(dir, 'metamer.db'), await freePort(), { LOG_LEVEL: 'info', ...env });
  try {
    // A refused log-in is logged (a warning): there are JSON log lines on stdout to look through.
    const r = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      body: 'token=not-the-token-at-all',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(401);
  } finally {
    await server.kill();
  }
  return { stdout: server.stdout(), stderr: server.stderr() };
}

it('prints a newly generated admin token on stderr only, never on stdout among the JSON logs', async () => {
  const first = await serveOnce();
  const token = fs.readFileSync(path.join(dir, 'admin-token'), 'utf8').trim();
  expect(token.length).toBeGreaterThanOrEqual(16);
  expect(first.stderr).toContain(`admin token (new; kept in ${path.join(dir, 'admin-token')}): ${token}`);
  expect(first.stdout).not.toContain(token);
  const logs = first.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string });
  expect(logs.map((l) => l.msg)).toContain('admin log-in refused');

  // Later starts say where the token is, and print it nowhere.
  const again = await serveOnce();
  expect(again.stderr).toContain('npx metamer admin token');
  expect(again.stdout + again.stderr).not.toContain(token);
});

it('does not print a token that comes from METAMER_ADMIN_TOKEN', async () => {
  const token = 'from-the-environment-0123456789';
  const out = await serveOnce({ METAMER_ADMIN_TOKEN: token });
  expect(out.stderr).toContain('admin token from METAMER_ADMIN_TOKEN');
  expect(out.stdout + out.stderr).not.toContain(token);
});
