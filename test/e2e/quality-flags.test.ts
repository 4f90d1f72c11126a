/**
 * Quality flags where an experimenter decides, with real browsers (docs/integrity.md):
 *
 * - an honest participant in Chromium, launched the way a participant's own browser runs: not
 *   under automation control (`--disable-blink-features=AutomationControlled`, so
 *   `navigator.webdriver` is false) and with a desktop Chrome User-Agent (headless Chromium names
 *   itself HeadlessChrome). Those two signs are the only things changed: every other check runs as
 *   for anyone, and the participant answers at a person's pace (buttons held 350 ms);
 * - an agent driving the same page in a stock Playwright Chromium, which answers one trial by
 *   calling `element.click()` from a script;
 * - a script posting straight to the API: 1 ms responses, the same button throughout, headless signs.
 *
 * The dashboard's sessions table and the payments page (and its CSV) show the flags with reasons
 * for the last two and none for the first; the trials CSV and the Psych-DS dictionary carry the
 * page's measurements; `metamer analyze --exclude-flagged` drops the flagged sessions.
 * Screenshots go to test-output/quality-flags/.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { CHROMIUM, CHROMIUM_FLAGS, launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { driveParticipant } from '../support/participant-driver.ts';
import { postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { logIn } from '../api/admin-participants.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'test-output/quality-flags');
const STUDY = 'fixture-study';
const HONEST = '5f1a0000000000000000a001';
const AGENT = '5f1a0000000000000000a002';
const SCRIPT = '5f1a0000000000000000a003';

let server: TestServer;
let stock: TestBrowser;
let disguised: Browser;
let adminPage: Page;

function db() {
  return new Database(server.dbFile, { readonly: true });
}

const SCRIPT_FLAGS = 'pacing fast_responses stereotyped automation missing_measurements';

function participantOf(pid: string): string {
  return db().prepare('SELECT participant_id FROM sessions WHERE prolific_pid = ?').pluck().get(pid) as string;
}

function planOf(pid: string) {
  return async () => {
    const id = db().prepare('SELECT id FROM sessions WHERE prolific_pid = ?').pluck().get(pid) as string;
    return (await server.store.getSession(id))!.plan.trials;
  };
}

async function openStudyPage(browser: Browser, pid: string): Promise<Page> {
  const context = await newParticipantContext(browser);
  const page = await context.newPage();
  await page.goto(`${server.url}/run/${STUDY}?PROLIFIC_PID=${pid}&STUDY_ID=st&SESSION_ID=se-${pid}`);
  return page;
}

beforeAll(async () => {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  server = await startTestServer({
    // This machine runs many test processes at once: a stalled frame that keeps a 100 ms image up a
    // few frames longer on 2 of 14 trials is the machine's load, not the participant. The
    // presentation rule's threshold is tested in test/unit/quality-flags.test.ts; here it is raised
    // so that the flags compared are the signs of automation and scripting.
    study: { quality: { presentation_share_max: 0.5 } },
  });
  stock = await launchChromium();
  disguised = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--disable-blink-features=AutomationControlled'],
  });
});
afterAll(async () => {
  await disguised?.close().catch(() => {});
  await stock?.close();
  await server?.dispose();
});

describe('quality flags for an honest participant, a browser agent and an API script', () => {
  it('an honest participant in Chromium completes, and its trials carry the page measurements', async () => {
    const probe = await (await disguised.newContext()).newPage();
    const userAgent = (await probe.evaluate(() => navigator.userAgent)).replace('HeadlessChrome/', 'Chrome/');
    await probe.context().close();
    const context = await disguised.newContext({ viewport: { width: 1280, height: 900 }, userAgent });
    const page = await context.newPage();
    await page.goto(`${server.url}/run/${STUDY}?PROLIFIC_PID=${HONEST}&STUDY_ID=st&SESSION_ID=se-${HONEST}`);
    expect(await page.evaluate(() => navigator.webdriver)).toBe(false);
    const r = await driveParticipant(page, { plan: planOf(HONEST), pressMs: 350 });
    expect(r.finalUrl).toContain('cc=');
    await context.close();

    const id = db().prepare('SELECT id FROM sessions WHERE prolific_pid = ?').pluck().get(HONEST) as string;
    const records = (await server.store.trialsOfSession(id)).map((t) => JSON.parse(t.data));
    for (const rec of records) {
      expect(rec.evidence).toMatchObject({ page_hidden: false, left_fullscreen: false, untrusted_events: 0 });
      expect(rec.evidence.stimulus_target_ms).toBeGreaterThan(0);
      expect(rec.evidence.stimulus_frames).toBeGreaterThan(0);
      expect(rec.rt_ms).toBeGreaterThanOrEqual(350);
    }
    const reports = db().prepare('SELECT report, user_agent FROM page_reports WHERE session_id = ?').all(id);
    expect(reports).toEqual([{ report: '{"automation_globals":[],"webdriver":false}', user_agent: userAgent }]);
  });

  it('an agent in a stock automated Chromium completes, one answer clicked by a script', async () => {
    const page = await openStudyPage(stock.browser, AGENT);
    // The page has its session once its script has started it.
    const started = () => db().prepare('SELECT count(*) FROM sessions WHERE prolific_pid = ?').pluck().get(AGENT);
    await expect.poll(started, { timeout: 30_000 }).toBe(1);
    const plan = planOf(AGENT);
    // Up to the first main trial as a person would, then that trial's answer through element.click().
    const firstMain = (await plan()).findIndex((t) => t.phase === 'main');
    const first = await driveParticipant(page, { plan, pressMs: 350, stopBefore: firstMain });
    expect(first.stoppedAt).toBe(firstMain);
    await page.click('.metamer-start');
    await page.waitForSelector('#jspsych-image-button-response-btngroup.visible button:enabled');
    const answer = (await plan())[firstMain]!.category;
    await page.evaluate((label) => {
      const buttons = [...document.querySelectorAll<HTMLButtonElement>('#jspsych-image-button-response-btngroup button')];
      buttons.find((b) => b.textContent === label)!.click();
    }, answer);
    const rest = await driveParticipant(page, { plan, pressMs: 350 });
    expect(rest.finalUrl).toContain('cc=');
    await page.context().close();
  });

  it('a script posts every trial straight to the API as soon as the server takes it, and completes', async () => {
    const start = await postJson(`${server.url}/api/studies/${STUDY}/sessions`, {
      prolific_pid: SCRIPT,
      prolific_study_id: 'st',
      prolific_session_id: `se-${SCRIPT}`,
    });
    const view = start.body as SessionView;
    const headless = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36';
    const rep = await postJson(
      `${server.url}/api/sessions/${view.session}/page-report`,
      { webdriver: true, automation_globals: [] },
      {
        headers: { 'Content-Type': 'application/json', 'User-Agent': headless },
      },
    );
    expect(rep.status).toBe(200);
    const plan = await planOf(SCRIPT)();
    const api = `${server.url}/api/sessions/${view.session}`;
    // Each request at once; when the pacing check refuses it (425), again when the server says it
    // will take it, as the saving queue does: the script is as fast as the server allows.
    const paced = async (url: string, body: unknown) => {
      for (;;) {
        const r = await postJson(url, body);
        if (r.status !== 425) return r;
        await new Promise((resolve) => setTimeout(resolve, r.body.retry_after_ms));
      }
    };
    for (const t of plan) {
      const response = t.phase === 'screening' ? t.category : 'dog';
      expect((await paced(`${api}/trials`, { trial_index: t.index, response, rt_ms: 1 })).status).toBe(200);
      if (t.index === view.screening_last_index) expect((await postJson(`${api}/gates/screening`, {})).body.passed).toBe(true);
    }
    expect((await paced(`${api}/complete`, {})).status).toBe(200);
  });

  it('the sessions table shows flags with reasons for the agent and the script, none for the honest participant', async () => {
    const context = await stock.browser.newContext({ viewport: { width: 1500, height: 1000 }, acceptDownloads: true });
    const cookie = (await logIn(server)).split('=');
    await context.addCookies([{ name: cookie[0]!, value: cookie.slice(1).join('='), domain: '127.0.0.1', path: '/admin' }]);
    adminPage = await context.newPage();
    await adminPage.goto(`${server.url}/admin/studies/${STUDY}`);
    const row = (pid: string) => adminPage.locator('tr', { hasText: participantOf(pid) });
    expect(await row(HONEST).locator('[data-flags]').getAttribute('data-flags')).toBe('none');
    expect(await row(AGENT).locator('[data-flags]').getAttribute('data-flags')).toBe('automation');
    const agentReason = await row(AGENT).locator('.flag-reason').innerText();
    expect(agentReason).toBe(
      'navigator.webdriver was true; the User-Agent says HeadlessChrome; 1 click(s) or key press(es) dispatched by a script on 1 trial(s)',
    );
    expect(await row(SCRIPT).locator('[data-flags]').getAttribute('data-flags')).toBe(SCRIPT_FLAGS);
    const labels = await row(SCRIPT).locator('.badge-flag').allInnerTexts();
    expect(labels).toEqual(['Pacing', 'Fast responses', 'Same answer', 'Automation signs', 'No page measurements']);
    fs.mkdirSync(OUT, { recursive: true });
    await adminPage.locator('#sessions-h').scrollIntoViewIfNeeded();
    await adminPage.screenshot({ path: path.join(OUT, 'sessions-table.png'), fullPage: true });
  });

  it('the payments page and its CSV show the same flags next to the Prolific IDs', async () => {
    await adminPage.goto(`${server.url}/admin/studies/${STUDY}/payments`);
    const row = (pid: string) => adminPage.locator('tr', { hasText: pid });
    expect(await row(HONEST).locator('[data-flags]').getAttribute('data-flags')).toBe('none');
    expect(await row(AGENT).locator('[data-flags]').getAttribute('data-flags')).toBe('automation');
    expect(await row(SCRIPT).locator('[data-flags]').getAttribute('data-flags')).toBe(SCRIPT_FLAGS);
    const reasons = await row(SCRIPT).locator('.flag-reason').allInnerTexts();
    expect(reasons[0]).toMatch(/^\d+ trial\(s\) arrived earlier than the protocol allows \(limit 0\)$/);
    expect(reasons[1]).toMatch(/^\d+ of \d+ \(100%\) responses faster than 150 ms \(limit 10%\)$/);
    await adminPage.screenshot({ path: path.join(OUT, 'payments.png'), fullPage: true });
    const [download] = await Promise.all([adminPage.waitForEvent('download'), adminPage.click('[data-download="payments"]')]);
    const csv = parse(fs.readFileSync((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
    const flags: Record<string, string> = Object.fromEntries(csv.map((r) => [r.prolific_pid!, r.flags!]));
    expect(flags[HONEST]).toBe('');
    expect(flags[AGENT]).toMatch(/^automation: navigator\.webdriver was true; /);
    expect(
      flags[SCRIPT]!.split(' | ')
        .map((f) => f.split(':')[0])
        .join(' '),
    ).toBe(SCRIPT_FLAGS);
  });

  it('the trials CSV and the Psych-DS data dictionary carry the measurement columns', async () => {
    await adminPage.goto(`${server.url}/admin/studies/${STUDY}`);
    const [download] = await Promise.all([adminPage.waitForEvent('download'), adminPage.click('[data-download="trials"]')]);
    const rows = parse(fs.readFileSync((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
    const honest = rows.filter((r) => r.participant_id === participantOf(HONEST));
    expect(honest.length).toBeGreaterThan(0);
    for (const r of honest) {
      expect(r).toMatchObject({ page_hidden: '0', left_fullscreen: '0', untrusted_events: '0', audio_start_s: '' });
      // Frame-locked: a step ends at the first frame within half a frame of its target, never earlier.
      expect(Number(r.stimulus_measured_ms)).toBeGreaterThanOrEqual(Number(r.stimulus_target_ms) - Number(r.frame_ms) / 2);
      expect(Number(r.stimulus_frames)).toBeGreaterThan(0);
    }
    const agent = rows.filter((r) => r.participant_id === participantOf(AGENT));
    expect(agent.map((r) => r.untrusted_events).filter((n) => n !== '0')).toEqual(['1']);
    const [zip] = await Promise.all([adminPage.waitForEvent('download'), adminPage.click('[data-download="psych-ds"]')]);
    const files = unzipSync(fs.readFileSync((await zip.path())!));
    const description = JSON.parse(strFromU8(files[Object.keys(files).find((f) => f.endsWith('dataset_description.json'))!]!));
    const names = (description.variableMeasured as { name: string; description: string }[]).map((v) => v.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'stimulus_measured_ms',
        'stimulus_target_ms',
        'stimulus_frames',
        'frame_ms',
        'page_hidden',
        'left_fullscreen',
        'untrusted_events',
        'audio_start_s',
        'audio_output_latency_ms',
        'audio_base_latency_ms',
      ]),
    );
    await adminPage.context().close();
  });

  it('metamer analyze --exclude-flagged drops the flagged sessions and reports the rule', async () => {
    const cli = [path.join(ROOT, 'bin/metamer.js'), 'analyze', STUDY, '--db', server.dbFile];
    const metamer = async (...args: string[]) => (await run(process.execPath, [...cli, ...args], { cwd: ROOT })).stdout;
    const analyze = async (...extra: string[]) =>
      JSON.parse(await metamer('--json', '--bootstrap', '0', '--permutations', '0', ...extra)).exclusions;
    const kept = await analyze();
    expect(kept.rules.flagged).toBe(false);
    expect(kept.participants_included).toBe(3);
    const x = await analyze('--exclude-flagged');
    expect(x.rules.flagged).toBe(true);
    expect(x.counts.flagged).toBe(2);
    expect(x.participants_included).toBe(1);
    expect(x.excluded.map((e: { participant_id: string; rule: string }) => [e.participant_id, e.rule]).sort()).toEqual(
      [
        [participantOf(AGENT), 'flagged'],
        [participantOf(SCRIPT), 'flagged'],
      ].sort(),
    );
    const md = await metamer('--bootstrap', '0', '--exclude-flagged');
    expect(md).toContain('| quality flags | on | 2 |');
  }, 120_000);
});

describe('an audio study in Chromium', () => {
  let audioServer: TestServer;
  let audioBrowser: TestBrowser;
  beforeAll(async () => {
    audioServer = await startTestServer({
      modality: 'audio',
      study: { protocol: { practice_trials: 1, screening_trials: 0, catch_trials: 0, headphone_check: 'none' } },
    });
    audioBrowser = await launchChromium({ audio: true });
  });
  afterAll(async () => {
    await audioBrowser?.close();
    await audioServer?.dispose();
  });

  it("records each sound's start on the AudioContext clock and the latencies the context reports", async () => {
    const pid = '5f1a0000000000000000a0a1';
    const page = await (await newParticipantContext(audioBrowser.browser)).newPage();
    await page.goto(`${audioServer.url}/run/${STUDY}?PROLIFIC_PID=${pid}&STUDY_ID=st&SESSION_ID=se-${pid}`);
    const plan = async () => {
      const audioDb = new Database(audioServer.dbFile, { readonly: true });
      const id = audioDb.prepare('SELECT id FROM sessions WHERE prolific_pid = ?').pluck().get(pid) as string;
      return (await audioServer.store.getSession(id))!.plan.trials;
    };
    expect((await driveParticipant(page, { plan, pressMs: 350 })).finalUrl).toContain('cc=');
    await page.context().close();
    const cookie = await logIn(audioServer);
    const res = await fetch(`${audioServer.url}/admin/studies/${STUDY}/trials.csv`, { headers: { Cookie: cookie } });
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe((await plan()).length);
    let last = -1;
    for (const r of rows) {
      expect(r).toMatchObject({ audio_state: 'running', page_hidden: '0', untrusted_events: '0' });
      expect(r).toMatchObject({ stimulus_frames: '', left_fullscreen: '' });
      // One context for the whole session: each sound starts later on its clock than the one before.
      expect(Number(r.audio_start_s)).toBeGreaterThan(last);
      last = Number(r.audio_start_s);
      // Chromium reports both latencies.
      expect(Number(r.audio_output_latency_ms)).toBeGreaterThanOrEqual(0);
      expect(r.audio_output_latency_ms).not.toBe('');
      expect(r.audio_base_latency_ms).not.toBe('');
    }
  });
});
