/**
 * Faults a real participant meets, in real Chromium against a real HTTP server on a real port: the
 * server killed with SIGKILL mid-study and started again (a separate `metamer serve` process, the
 * only test here that needs one); the connection gone for 30 s, the tab closed, two tabs, replayed
 * POSTs (the server running in the test's own process). Each ends with SQLite's integrity check and
 * a row-by-row comparison with what the browser sent.
 */
import Database from 'better-sqlite3';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../server/canonical-json.ts';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { driveParticipant, pendingInBrowser } from '../support/participant-driver.ts';
import { freePort, spawnServer, type ServerProcess } from '../support/server-process.ts';
import { COMPLETION_CODE, postJson, startTestServer, type TestServer, pidOf, backdateSession } from '../support/test-server.ts';

const COMPLETE_URL = `https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`;

interface Sent {
  index: number;
  body: string;
  kind: string;
}

/** Everything the browser posts to the trials endpoint, and which posts were acknowledged. */
function recordTraffic(context: BrowserContext) {
  const sent: Sent[] = [];
  const acked = new Set<number>();
  context.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/trials')) {
      const body = req.postData() ?? '';
      sent.push({ index: JSON.parse(body).trial_index, body, kind: req.resourceType() });
    }
  });
  context.on('response', (res) => {
    const req = res.request();
    if (req.method() === 'POST' && req.url().endsWith('/trials') && res.status() === 200)
      acked.add(JSON.parse(req.postData() ?? '{}').trial_index);
  });
  return { sent, acked };
}

/** Whether the browser has received every stimulus file its session's view lists (the prefetch is done). */
function recordStimuli(context: BrowserContext): () => boolean {
  const listed = new Set<string>();
  const received = new Set<string>();
  context.on('response', async (res) => {
    const url = new URL(res.url());
    if (res.request().method() === 'POST' && /^\/api\/studies\/[^/]+\/sessions$/.test(url.pathname) && res.ok()) {
      const view = (await res.json()) as { trials: { stimulus: string; mask?: string }[] };
      for (const t of view.trials) for (const f of [t.stimulus, t.mask]) if (f) listed.add(new URL(f, url).pathname);
    }
    if (url.pathname.startsWith('/stimuli/') && res.status() === 200) received.add(url.pathname);
  });
  return () => listed.size > 0 && [...listed].every((f) => received.has(f));
}

interface Row {
  session_id: string;
  trial_index: number;
  data: string;
}

/** Integrity check, one row per planned trial, no duplicates, each row equal to a record the browser sent. */
function checkDatabase(dbFile: string, pid: string, sent: Sent[]) {
  const db = new Database(dbFile, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const sessions = db.prepare('SELECT id, n_trials, state, pacing_violations FROM sessions WHERE prolific_pid = ?').all(pid) as {
      id: string;
      n_trials: number;
      state: string;
      pacing_violations: number;
    }[];
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    // The server's pacing check never refused a trial of this honest participant (server/pacing.ts).
    expect(session.pacing_violations).toBe(0);
    const rows = db
      .prepare('SELECT session_id, trial_index, data FROM trials WHERE session_id = ? ORDER BY trial_index')
      .all(session.id) as Row[];
    expect(rows.map((r) => r.trial_index)).toEqual(Array.from({ length: session.n_trials }, (_, i) => i));
    for (const row of rows) {
      const candidates = sent.filter((s) => s.index === row.trial_index).map((s) => canonicalJson(JSON.parse(s.body)));
      expect(candidates, `trial ${row.trial_index}`).toContain(row.data);
    }
    return { session, rows };
  } finally {
    db.close();
  }
}

let chromium: TestBrowser;
beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
});

describe('server killed mid-study', () => {
  let setup: TestServer;
  let proc: ServerProcess | undefined;
  beforeAll(async () => {
    setup = await startTestServer({ set: { sourcesPerCategory: 4 } });
    await setup.close();
  });
  afterAll(async () => {
    await proc?.kill('SIGKILL');
    await setup?.dispose();
  });

  it('keeps every acknowledged trial; the browser queue drains after the restart; no duplicates', async () => {
    const port = await freePort();
    proc = await spawnServer(setup.dbFile, port);
    const pid = pidOf('fault0kill00000000000001');
    const context = await newParticipantContext(chromium.browser);
    const traffic = recordTraffic(context);
    const page = await context.newPage();
    await page.goto(`${proc.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    const planOf = async () => {
      const db = new Database(setup.dbFile, { readonly: true });
      const row = db
        .prepare('SELECT p.plan FROM sessions s JOIN session_plans p ON p.session_id = s.id WHERE s.prolific_pid = ?')
        .get(pid) as { plan: string };
      db.close();
      return JSON.parse(row.plan).trials;
    };
    // Answer into the main block, then kill the server without warning.
    const first = await driveParticipant(page, { plan: planOf, stopBefore: 9 });
    expect(first.stoppedAt).toBe(9);
    await page.waitForFunction(`(${pendingInBrowser})() === 0`);
    const ackedBeforeKill = new Set(traffic.acked);
    await proc.kill('SIGKILL');
    // The participant goes on while the server is down: answers pile up in the queue.
    const during = await driveParticipant(page, { plan: planOf, stopBefore: 13 });
    expect(during.answered.length).toBeGreaterThan(0);
    expect(await page.evaluate(pendingInBrowser)).toBeGreaterThan(0);
    proc = await spawnServer(setup.dbFile, port);
    const rest = await driveParticipant(page, { plan: planOf, timeoutMs: 90_000 });
    expect(rest.finalUrl).toBe(COMPLETE_URL);
    const { rows } = checkDatabase(setup.dbFile, pid, traffic.sent);
    for (const i of ackedBeforeKill) expect(rows.some((r) => r.trial_index === i)).toBe(true);
    await context.close();
  }, 240_000);
});

describe('browser faults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ set: { sourcesPerCategory: 3 } });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const planFor = (pid: string) => async () =>
    (await server.store.getSession((await server.store.findSession('fixture-study', pid))!.id))!.plan.trials;

  it('offline for 30 s: the queue holds the answers and drains when the connection returns', async () => {
    const pid = pidOf('fault0offline00000000001');
    const context = await newParticipantContext(chromium.browser);
    const traffic = recordTraffic(context);
    const prefetched = recordStimuli(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    await driveParticipant(page, { plan: planFor(pid), stopBefore: 7 });
    // Every file is in the cache before the connection goes (the background prefetch).
    await expect.poll(prefetched, { timeout: 30_000 }).toBe(true);
    await context.setOffline(true);
    const offlineAt = Date.now();
    const whileOffline = driveParticipant(page, { plan: planFor(pid), timeoutMs: 120_000 });
    await page.waitForSelector('text=Saving your answers', { timeout: 60_000 });
    const pending = await page.evaluate(pendingInBrowser);
    expect(pending).toBeGreaterThan(0);
    // The scenario itself: the connection stays away for 30 s (not a wait for something to happen).
    await page.waitForTimeout(Math.max(0, 30_000 - (Date.now() - offlineAt)));
    expect(page.url()).not.toBe(COMPLETE_URL);
    await context.setOffline(false);
    expect((await whileOffline).finalUrl).toBe(COMPLETE_URL);
    checkDatabase(server.dbFile, pid, traffic.sent);
    await context.close();
  }, 240_000);

  it('a tab closed mid-study: the last trial arrives by beacon, and reopening resumes after it', async () => {
    const pid = pidOf('fault0closed000000000001');
    const context = await newParticipantContext(chromium.browser);
    const traffic = recordTraffic(context);
    // Playwright does not report beacons of a closing page: the page notes its own in localStorage.
    await context.addInitScript(() => {
      const send = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url: string | URL, data?: BodyInit | null) => {
        const index = JSON.parse(String(data)).trial_index;
        localStorage.setItem('beacons', `${localStorage.getItem('beacons') ?? ''}${index},`);
        return send(url, data);
      };
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    await driveParticipant(page, { plan: planFor(pid), stopBefore: 6 });
    await page.waitForFunction(`(${pendingInBrowser})() === 0`);
    // From now on the queue's fetches fail; only a beacon can carry trial 6.
    await context.route('**/trials', (route) =>
      route.request().resourceType() === 'fetch' ? route.abort('connectionreset') : route.continue(),
    );
    await driveParticipant(page, { plan: planFor(pid), stopBefore: 7 });
    await page.close({ runBeforeUnload: true });
    const deadline = Date.now() + 10_000;
    while (!(await server.store.answeredIndices((await server.store.findSession('fixture-study', pid))!.id)).includes(6)) {
      if (Date.now() > deadline) throw new Error('trial 6 never arrived');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(traffic.acked.has(6)).toBe(false);
    await context.unroute('**/trials');
    const again = await context.newPage();
    await again.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    expect(await again.evaluate(() => localStorage.getItem('beacons'))).toContain('6,');
    await again.locator('text=Welcome back').waitFor();
    const rest = await driveParticipant(again, { plan: planFor(pid) });
    expect(rest.answered[0]).toBe(7);
    expect(rest.finalUrl).toBe(COMPLETE_URL);
    checkDatabase(server.dbFile, pid, traffic.sent);
    await context.close();
  }, 240_000);

  it('two tabs with the same PID share one session and store no duplicate trials', async () => {
    const pid = pidOf('fault0twotabs00000000001');
    const context = await newParticipantContext(chromium.browser);
    const traffic = recordTraffic(context);
    const [a, b] = [await context.newPage(), await context.newPage()];
    // Chromium pauses animation frames in a tab that is not in front, as it would for a person
    // switching tabs: the participant alternates, answering some trials in each.
    const plan = planFor(pid);
    await a.bringToFront();
    await a.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    await driveParticipant(a, { plan, stopBefore: 3 });
    await b.bringToFront();
    await b.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    const b1 = await driveParticipant(b, { plan, stopBefore: 6 });
    expect(b1.answered[0]).toBe(3);
    await a.bringToFront();
    // Tab A still shows trial 3: it answers 3, 4, 5 again (the server keeps B's) and goes on.
    await driveParticipant(a, { plan, stopBefore: 9 });
    await b.bringToFront();
    const rb = await driveParticipant(b, { plan });
    await a.bringToFront();
    const ra = await driveParticipant(a, { plan });
    expect(ra.finalUrl).toBe(COMPLETE_URL);
    expect(rb.finalUrl).toBe(COMPLETE_URL);
    checkDatabase(server.dbFile, pid, traffic.sent);
    await context.close();
  }, 240_000);

  it('the same POST replayed is stored once; replayed with changed content it is refused and the first stands', async () => {
    const pid = pidOf('fault0replay000000000001');
    const start = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pid });
    // Replays come long after the trial (pacing is not what this is about).
    await backdateSession(server, start.body.session);
    const url = `${server.url}/api/sessions/${start.body.session}/trials`;
    const plan = await planFor(pid)();
    const record = { trial_index: 0, response: plan[0]!.category, rt_ms: 640, timings: { stimulus_onset: 10, stimulus_offset: 310 } };
    const replies = await Promise.all(Array.from({ length: 20 }, () => postJson(url, record)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.filter((r) => r.body.stored === 'created')).toHaveLength(1);
    const changed = await Promise.all(Array.from({ length: 5 }, (_, i) => postJson(url, { ...record, rt_ms: 700 + i })));
    expect(changed.map((r) => r.status)).toEqual(Array(5).fill(409));
    const db = new Database(server.dbFile, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('SELECT data FROM trials WHERE session_id = ?').all(start.body.session) as { data: string }[];
    db.close();
    expect(rows).toEqual([{ data: canonicalJson(record) }]);
  });
});
