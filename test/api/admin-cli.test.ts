/**
 * CLI parity: every dashboard action is also a `metamer` command. The commands run as child
 * processes on the database of a running server, and their answers are compared with the
 * dashboard's.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, answerTrials, completeParticipant, logIn, startParticipant } from './admin-participants.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let server: TestServer;

async function metamer(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ['bin/metamer.js', '--db', server.dbFile, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...server.cliEnv, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const done = ['5f1b00000000000000000d01', '5f1b00000000000000000d02'];
const quiet = '5f1b00000000000000000a03';

beforeAll(async () => {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  server = await startTestServer();
  for (const pid of done) await completeParticipant(server, pid);
  const q = await startParticipant(server, quiet);
  await answerTrials(server, q.view, { to: 2 });
});
afterAll(async () => {
  await server?.dispose();
});

// Each test runs the CLI several times, a few seconds each on a busy 2-core machine.
describe('metamer study … (the dashboard’s twins)', { timeout: 240_000 }, () => {
  it('status --json is the dashboard’s progress', async () => {
    const cookie = await logIn(server);
    const r = await metamer(['study', 'status', 'fixture-study', '--json'], { METAMER_PUBLIC_URL: server.url });
    expect(r.code).toBe(0);
    const cli = JSON.parse(r.stdout);
    const dash = JSON.parse((await adminGet(server, cookie, '/admin/api/studies/fixture-study', 'application/json')).text).progress;
    expect(cli).toEqual({ ...dash, stimulus_set: 'fixture' });
    expect(cli.sessions).toEqual({ started: 1, completed: 2, screened_out: 0, abandoned: 0 });
    expect(cli.conditions).toHaveLength(4);
    const text = await metamer(['study', 'status', 'fixture-study']);
    expect(text.stdout).toContain('completed 2 / 20');
    expect(text.stdout).toMatch(/alexnet \/ final\s+4\s+0\s+40/);
    // A table of its own under its label, columns aligned: each count ends where its header ends.
    const lines = text.stdout.split('\n');
    const at = lines.indexOf('main trials per condition:');
    const cells = (l: string) => [...l.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
    const header = cells(lines[at + 1]!);
    expect(lines[at + 1]!.trim().split(/ {2,}/)).toEqual([
      'condition',
      'from completed sessions',
      'from sessions in progress',
      'planned at target',
    ]);
    for (const row of lines.slice(at + 2, at + 6).map(cells)) {
      expect(row[0]!.start).toBe(header[0]!.start);
      expect(row.slice(1).map((c) => c.end)).toEqual(header.slice(1).map((c) => c.end));
    }
  });

  it('payments lists the completed Prolific IDs, as CSV or JSON, and nothing else', async () => {
    const csv = await metamer(['study', 'payments', 'fixture-study', '--csv']);
    expect(csv.code).toBe(0);
    const rows = parse(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.prolific_pid).sort()).toEqual([...done].sort());
    expect(csv.stdout).not.toContain(quiet);
    const cookie = await logIn(server);
    expect(csv.stdout).toBe((await adminGet(server, cookie, '/admin/studies/fixture-study/payments.csv')).text);
    const json = JSON.parse((await metamer(['study', 'payments', 'fixture-study', '--json'])).stdout);
    expect(json.map((r: { prolific_pid: string }) => r.prolific_pid).sort()).toEqual([...done].sort());
    const missing = await metamer(['study', 'payments', 'no-such-study']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('metamer: no study "no-such-study" (see metamer study list)\n');
  });

  it('preview-url starts a preview session that the running server serves and never counts', async () => {
    const r = await metamer(['study', 'preview-url', 'fixture-study', '--json'], { METAMER_PUBLIC_URL: server.url });
    expect(r.code).toBe(0);
    const { url } = JSON.parse(r.stdout);
    const u = new URL(url);
    expect(u.origin + u.pathname).toBe(`${server.url}/run/fixture-study`);
    const pid = u.searchParams.get('PROLIFIC_PID')!;
    const db = await server.openDb();
    const row = await db.get('SELECT preview, state FROM sessions WHERE prolific_pid = ?', pid);
    await db.close();
    expect(row).toEqual({ preview: 1, state: 'started' });
    expect((await fetch(url)).status).toBe(200);
    const s = await startParticipant(server, pid);
    expect(s.status).toBe(200);
    expect(await server.store.countSessions('fixture-study')).toEqual({ started: 1, completed: 2, screened_out: 0, abandoned: 0 });
  });

  it('sweep abandons what has been idle too long, in one study or all', async () => {
    expect(JSON.parse((await metamer(['study', 'sweep', '--json'])).stdout)).toEqual([]);
    const db = await server.openDb();
    await db.run('UPDATE sessions SET last_activity_at = last_activity_at - ? WHERE prolific_pid = ?', 2 * 3_600_000, quiet);
    await db.close();
    const r = await metamer(['study', 'sweep', 'fixture-study']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('fixture-study: 1 session(s) marked abandoned\n');
    expect((await server.store.countSessions('fixture-study')).abandoned).toBe(1);
  });
});

describe('metamer admin token', { timeout: 240_000 }, () => {
  it('shows the token in force; --rotate replaces it and logs everybody out of the running server', async () => {
    const shown = await metamer(['admin', 'token']);
    expect(shown.code).toBe(0);
    expect(shown.stdout.trim()).toBe(server.admin.token.token);
    const cookie = await logIn(server);
    expect((await adminGet(server, cookie, '/admin')).status).toBe(200);

    const rotated = await metamer(['admin', 'token', '--rotate', '--json']);
    expect(rotated.code).toBe(0);
    const out = JSON.parse(rotated.stdout);
    expect(out.rotated).toBe(true);
    expect(out.logged_out).toBeGreaterThanOrEqual(1);
    expect(out.token).not.toBe(server.admin.token.token);
    expect((await adminGet(server, cookie, '/admin')).status).toBe(401);
    const login = (token: string) =>
      fetch(`${server.url}/admin/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token }),
      });
    expect((await login(server.admin.token.token)).status).toBe(401);
    expect((await login(out.token)).status).toBe(200);
  });

  it('refuses to rotate a token that comes from the environment', async () => {
    const r = await metamer(['admin', 'token', '--rotate'], { METAMER_ADMIN_TOKEN: 'env-token-long-enough-0123' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('comes from METAMER_ADMIN_TOKEN');
  });
});
