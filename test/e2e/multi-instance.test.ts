/**
 * Needs PostgreSQL (starts its own throwaway cluster) and nginx. The deployment of
 * docs/deploying.md as shipped in deploy/: two `metamer serve` processes configured by
 * deploy/instance.env on one PostgreSQL database, behind nginx configured by
 * deploy/nginx-instances.conf (round-robin, no sticky sessions, stimuli from the static export).
 * The test swaps in only its ports, folder, database and secrets, and logs which instance answered
 * (test/support/nginx.ts: instancesServerBlock).
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/canonical-json.ts';
import type { PlannedTrial } from '../../server/session-plan.ts';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { answeredBy, instancesServerBlock, startNginx } from '../support/nginx.ts';
import { driveParticipant, pendingInBrowser } from '../support/participant-driver.ts';
import { createDatabase, startPostgresCluster, type PostgresCluster } from '../support/postgres.ts';
import { freePort, spawnServer, type ServerProcess } from '../support/server-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { COMPLETION_CODE, startTestServer, type TestServer } from '../support/test-server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/metamer.js');
const COMPLETE_URL = `https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`;
const KEY = 'multi-instance-test-key-0123456789abcdef0123456789';
const TOKEN = 'multi-instance-admin-token-0123456789';
const STIMULUS_KEY = 'multi-instance-stimulus-key-0123456789abcdef';

/** deploy/instance.env with this test's database and secrets (comments and blank lines dropped). */
async function instanceEnv(url: string): Promise<Record<string, string>> {
  const text = await fs.readFile(path.join(ROOT, 'deploy/instance.env'), 'utf8');
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  expect(Object.keys(env)).toEqual(
    expect.arrayContaining([
      'METAMER_DATABASE_URL',
      'METAMER_PARTICIPANT_KEY',
      'METAMER_STIMULUS_KEY',
      'METAMER_ADMIN_TOKEN',
      'METAMER_TRUST_PROXY',
    ]),
  );
  return {
    ...env,
    METAMER_DATABASE_URL: url,
    METAMER_PARTICIPANT_KEY: KEY,
    METAMER_ADMIN_TOKEN: TOKEN,
    METAMER_STIMULUS_KEY: STIMULUS_KEY,
    LOG_LEVEL: 'warn',
  };
}

/** Trial POSTs the browser made and those the server acknowledged (200). */
function recordTraffic(context: BrowserContext) {
  const sent: { index: number; body: string }[] = [];
  const acked = new Set<number>();
  context.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/trials'))
      sent.push({ index: JSON.parse(req.postData() ?? '{}').trial_index, body: req.postData() ?? '' });
  });
  context.on('response', (res) => {
    const req = res.request();
    if (req.method() === 'POST' && req.url().endsWith('/trials') && res.status() === 200)
      acked.add(JSON.parse(req.postData() ?? '{}').trial_index);
  });
  return { sent, acked };
}

describe('two instances behind nginx on one PostgreSQL database', () => {
  let cluster: PostgresCluster;
  let url: string;
  let setup: TestServer;
  let db: TestDatabase;
  let chromium: TestBrowser;
  let nginx: ChildProcess | undefined;
  let front: string;
  let log: string;
  const instances: ServerProcess[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    url = await createDatabase(cluster.base, 'instances');
    // The study is set up with the instances' key: they refuse a database first served with another.
    const saved = { p: process.env.METAMER_PARTICIPANT_KEY, s: process.env.METAMER_STIMULUS_KEY };
    process.env.METAMER_PARTICIPANT_KEY = KEY;
    process.env.METAMER_STIMULUS_KEY = STIMULUS_KEY;
    try {
      setup = await startTestServer({ databaseUrl: url, study: { target_completed: 100 } });
    } finally {
      for (const [name, value] of [
        ['METAMER_PARTICIPANT_KEY', saved.p],
        ['METAMER_STIMULUS_KEY', saved.s],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    await setup.close();
    await fs.chmod(setup.dir, 0o755);
    const env = await instanceEnv(url);
    const exported = path.join(setup.dir, 'static');
    execFileSync(process.execPath, [BIN, '--db', setup.dbFile, 'stimuli', 'export-static', exported], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    for (let i = 0; i < 2; i++) {
      ports.push(await freePort());
      instances.push(await spawnServer(setup.dbFile, ports[i]!, env));
    }
    const nginxPort = await freePort();
    log = path.join(setup.dir, 'answered.log');
    nginx = await startNginx(setup.dir, await instancesServerBlock(ports, exported, log), nginxPort);
    front = `http://127.0.0.1:${nginxPort}`;
    db = await openTestDatabase(url);
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    nginx?.kill('SIGTERM');
    for (const p of instances) await p.kill('SIGKILL');
    await db?.close();
    await setup?.dispose();
    await cluster?.stop();
  });

  it('50 concurrent session starts through nginx reach both instances and get distinct, balanced slots', async () => {
    const starts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${front}/api/studies/fixture-study/sessions`, {
          method: 'POST',
          // Fifty participants at fifty addresses (nginx appends its own hop; the instances trust loopback).
          headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': `198.51.100.${i + 1}` },
          body: JSON.stringify({ prolific_pid: `5f4a00000000000000000${String(i).padStart(3, '0')}` }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { session: string } })),
      ),
    );
    expect(starts.map((s) => s.status)).toEqual(Array(50).fill(200));
    const rows = await db.all<{ slot: number }>("SELECT slot FROM sessions WHERE prolific_pid LIKE '5f4a%' ORDER BY slot");
    expect(rows.map((r) => r.slot)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const perRow = [0, 1, 2, 3].map((r) => rows.filter((x) => x.slot % 4 === r).length);
    expect(Math.max(...perRow) - Math.min(...perRow)).toBeLessThanOrEqual(1);
    const starters = (await answeredBy(log)).filter((a) => a.uri === '/api/studies/fixture-study/sessions').map((a) => a.upstreams.at(-1));
    for (const port of ports) expect(starters.filter((u) => u === `127.0.0.1:${port}`).length).toBeGreaterThanOrEqual(20);
  });

  it('a Chromium participant completes over both instances, one killed -9 mid-study; every acknowledged trial is stored once', async () => {
    const pid = '5f4b000000000000000000b1';
    const context = await newParticipantContext(chromium.browser);
    const traffic = recordTraffic(context);
    const page = await context.newPage();
    let stimuliLoaded = 0;
    page.on('response', (r) => {
      if (/\/stimuli\/[0-9a-f]{64}\.png$/.test(r.url()) && r.status() === 200) stimuliLoaded++;
    });
    const planOf = async () => {
      const row = await db.get<{ plan: string }>(
        'SELECT p.plan FROM sessions s JOIN session_plans p ON p.session_id = s.id WHERE s.prolific_pid = ?',
        pid,
      );
      return (JSON.parse(row!.plan) as { trials: PlannedTrial[] }).trials;
    };
    const stimuliBefore = (await answeredBy(log)).length;
    await page.goto(`${front}/run/fixture-study?PROLIFIC_PID=${pid}`);
    const first = await driveParticipant(page, { plan: planOf, stopBefore: 8 });
    expect(first.stoppedAt).toBe(8);
    // Every answer so far acknowledged: the queue in the page's storage is empty.
    await page.waitForFunction(`(${pendingInBrowser.toString()})() === 0`);
    const before = (await answeredBy(log)).slice(stimuliBefore).filter((a) => a.uri.startsWith('/api/sessions/'));
    for (const port of ports)
      expect(
        before.some((a) => a.upstreams.at(-1) === `127.0.0.1:${port}`),
        `instance ${port} answered the participant`,
      ).toBe(true);

    await instances[0]!.kill('SIGKILL');
    const rest = await driveParticipant(page, { plan: planOf, timeoutMs: 180_000 });
    expect(rest.finalUrl).toBe(COMPLETE_URL);
    // Nothing after the kill reached the dead instance.
    const after = (await answeredBy(log)).filter((a) => a.uri.startsWith('/api/sessions/')).slice(before.length);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((a) => a.upstreams.at(-1) === `127.0.0.1:${ports[1]}`)).toBe(true);

    const session = (await db.get<{ id: string; n_trials: number; state: string }>(
      'SELECT id, n_trials, state FROM sessions WHERE prolific_pid = ?',
      pid,
    ))!;
    expect(session.state).toBe('completed');
    const stored = await db.all<{ trial_index: number; data: string }>(
      'SELECT trial_index, data FROM trials WHERE session_id = ? ORDER BY trial_index',
      session.id,
    );
    // One row per planned trial (the key forbids two), each equal to a record the browser sent.
    expect(stored.map((r) => r.trial_index)).toEqual(Array.from({ length: session.n_trials }, (_, i) => i));
    for (const r of stored)
      expect(traffic.sent.filter((s) => s.index === r.trial_index).map((s) => canonicalJson(JSON.parse(s.body)))).toContain(r.data);
    for (const i of traffic.acked) expect(stored.some((r) => r.trial_index === i)).toBe(true);
    // Stimuli came from the static export through nginx itself: none was passed to an instance.
    expect(stimuliLoaded).toBeGreaterThan(0);
    expect((await answeredBy(log)).filter((a) => a.uri.startsWith('/stimuli/'))).toEqual([]);
    await context.close();
  }, 300_000);
});
