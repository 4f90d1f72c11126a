/**
 * The experimenter's dashboard in Chromium: log in, create and launch a study from an imported set,
 * a participant completes it in a second browser context, the dashboard shows it live, the
 * downloaded CSV is the database, payments, preview. Screenshots of every page go to test-output/.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { alwaysRight, driveParticipant, type AnswerPolicy } from '../support/participant-driver.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { completeParticipant } from '../api/admin-participants.ts';

const OUT = path.resolve(import.meta.dirname, '../../test-output/dashboard');
const STUDY = 'e2e-vision';

let chromium: TestBrowser;
let server: TestServer;
let admin: BrowserContext;
let page: Page;

async function shot(p: Page, name: string) {
  fs.mkdirSync(OUT, { recursive: true });
  await p.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

function planOf(pid: string, studyId = STUDY) {
  return async () => {
    const row = new Database(server.dbFile, { readonly: true })
      .prepare('SELECT id FROM sessions WHERE prolific_pid = ? AND study_id = ?')
      .get(pid, studyId) as { id: string };
    return (await server.store.getSession(row.id))!.plan.trials;
  };
}

beforeAll(async () => {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  chromium = await launchChromium();
  server = await startTestServer();
  admin = await chromium.browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  page = await admin.newPage();
  // A renderer that dies under load would otherwise show up as a string of unrelated timeouts.
  page.on('crash', () => process.stderr.write('dashboard page crashed\n'));
  // Confirmation dialogs (closing a study) are accepted, as the experimenter would.
  page.on('dialog', (d) => void d.accept());
});
afterAll(async () => {
  await admin?.close();
  await chromium?.close();
  await server?.dispose();
});

describe('the experimenter dashboard', () => {
  it('asks for the token, refuses a wrong one, and logs in with the right one', async () => {
    const res = await page.goto(`${server.url}/admin`);
    expect(res!.status()).toBe(401);
    expect(await page.locator('h1').textContent()).toBe('Experimenter log-in');
    await shot(page, '01-login');
    await page.fill('#token', 'certainly-not-the-token');
    await page.click('button[type=submit]');
    expect(await page.locator('.flash-error').textContent()).toContain('not the admin token');
    await page.fill('#token', server.admin.token.token);
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')]);
    expect(await page.locator('h1').textContent()).toBe('Studies');
    const cookies = await admin.cookies();
    const c = cookies.find((x) => x.name === 'metamer_admin')!;
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
    // The page's script cannot read it.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await shot(page, '02-studies');
  });

  it('creates and launches a study from the imported set', async () => {
    await page.click('text=New study');
    await page.waitForURL(`${server.url}/admin/studies/new`);
    await page.selectOption('#f-stimulus_set', 'fixture');
    await page.fill('#f-id', STUDY);
    await page.fill('#f-title', 'Recognising pictures (pilot)');
    await page.fill('#f-target_completed', '6');
    await page.fill('#f-completion_code', 'E2EDONE1');
    await page.fill('#f-screenout_code', 'E2EOUT01');
    await page.fill('#f-practice_trials', '2');
    await page.fill('#f-screening_trials', '3');
    await page.fill('#f-screening_min_correct', '2');
    await page.fill('#f-catch_trials', '1');
    await page.fill(
      '#f-advanced',
      JSON.stringify({ timing: { blank_ms: 100, fixation_ms: 100, stimulus_ms: 100, practice_stimulus_ms: 150, mask_ms: 100 } }),
    );
    await page.check('input[name=launch]');
    await shot(page, '03-new-study');
    await Promise.all([
      page.waitForURL(`${server.url}/admin/studies/${STUDY}?done=created`),
      page.click('button:has-text("Create study")'),
    ]);
    expect(await page.locator('.flash-ok').textContent()).toContain('Study created');
    expect(await page.locator('h1 .badge').first().textContent()).toBe('Live');
    expect((await server.store.getStudy(STUDY))!.status).toBe('live');
    await shot(page, '04-study-new');
  });

  it('a participant completes it in another browser; the dashboard shows it live', async () => {
    const template = await page.inputValue('#participant-url');
    expect(template).toBe(`${server.url}/run/${STUDY}?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`);
    const pid = '64b0e2e0000000000000aa01';
    const url = template
      .replace('{{%PROLIFIC_PID%}}', pid)
      .replace('{{%STUDY_ID%}}', 'prolific-study')
      .replace('{{%SESSION_ID%}}', 'prolific-session');
    const participant = await newParticipantContext(chromium.browser);
    try {
      const p = await participant.newPage();
      await p.goto(url);
      const result = await driveParticipant(p, { plan: planOf(pid) });
      expect(result.finalUrl).toBe('https://app.prolific.com/submissions/complete?cc=E2EDONE1');
    } finally {
      await participant.close();
    }
    // No reload: the page's script picks the completion up from the live endpoint.
    await page.locator('.stat-wide [data-field="completed"]', { hasText: '1' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-table="recognizability"]').waitFor({ timeout: 30_000 });
    const rows = await page.locator('[data-table="recognizability"] tbody tr').count();
    expect(rows).toBe(4);
    expect(
      await page.locator('[data-table="recognizability"] tbody tr').first().locator('td').nth(2).locator('.strong').textContent(),
    ).toBe('1.000');
    const sessionRow = page.locator('section[aria-labelledby="sessions-h"] tbody tr').first();
    expect(await sessionRow.textContent()).toContain('Completed');
    // The pseudonymous id is shown, never the Prolific ID.
    expect(await page.content()).not.toContain(pid);
    const figure = page.locator('figure img');
    await figure.waitFor();
    await expect
      .poll(() => figure.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 })
      .toBeGreaterThan(0);
  });

  it('the downloaded trials CSV matches the database', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download="trials"]')]);
    expect(download.suggestedFilename()).toBe(`${STUDY}_trials.csv`);
    const rows = parse(fs.readFileSync((await download.path())!, 'utf8'), { columns: true }) as Record<string, string>[];
    const db = new Database(server.dbFile, { readonly: true });
    const expected = db
      .prepare(
        `SELECT s.participant_id, t.session_id AS token, t.phase, t.trial_index, t.stimulus_id, t.model, t.layer, t.response, t.correct, t.rt_ms
           FROM trials t JOIN sessions s ON s.id = t.session_id WHERE s.study_id = ? AND s.preview = 0 ORDER BY t.session_id, t.trial_index`,
      )
      .all(STUDY) as Record<string, string | number | null>[];
    db.close();
    expect(expected.length).toBeGreaterThan(10);
    expect(rows).toHaveLength(expected.length);
    const csvText = fs.readFileSync((await download.path())!, 'utf8');
    rows.forEach((r, i) => {
      const { token, ...cells } = expected[i]!;
      for (const [k, v] of Object.entries(cells)) expect(r[k], `row ${i} ${k}`).toBe(v === null ? '' : String(v));
      // The stored session id is a bearer token: exports name the session by its pseudonym instead.
      expect(r.session_id).toBe(`s-${cells.participant_id}`);
      expect(csvText).not.toContain(String(token));
    });
    const [zip] = await Promise.all([page.waitForEvent('download'), page.click('[data-download="psych-ds"]')]);
    expect(zip.suggestedFilename()).toBe('study-e2evision_psych-ds.zip');
  });

  it('with more participants the table and figure fill in; screenshots of the study and payments pages', async () => {
    // Five more participants through the API; deeper layers are recognised less often.
    const accuracy: Record<string, number> = { natural: 0.95, relu0: 0.8, relu2: 0.5, final: 0.25 };
    for (let i = 0; i < 5; i++) {
      await completeParticipant(
        server,
        `64b0e2e0000000000000bb0${i}`,
        STUDY,
        (index, t) => t.phase !== 'main' || ((i * 7 + index * 3) % 10) / 10 < accuracy[t.layer]!,
      );
    }
    await page.reload();
    await page.locator('.stat-wide [data-field="completed"]', { hasText: '6' }).waitFor();
    expect(await page.locator('h1 .badge-target').count()).toBe(1);
    await page
      .locator('figure img')
      .evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r))));
    await shot(page, '05-study');
    await page.click('text=Payments (Prolific IDs)');
    await page.waitForURL(`${server.url}/admin/studies/${STUDY}/payments`);
    expect(await page.locator('[data-pid]').count()).toBe(6);
    expect(await page.content()).toContain('64b0e2e0000000000000aa01');
    await shot(page, '06-payments');
  });

  it('the experimenter previews the study: it runs, returns to the dashboard and is not counted', async () => {
    await page.goto(`${server.url}/admin/studies/${STUDY}`);
    const before = await server.store.countSessions(STUDY);
    const [preview] = await Promise.all([admin.waitForEvent('page'), page.click('[data-action="preview"]')]);
    await preview.waitForURL(/\/run\/e2e-vision\?PROLIFIC_PID=preview-/);
    const pid = new URL(preview.url()).searchParams.get('PROLIFIC_PID')!;
    expect(await preview.title()).toBe('Preview · Recognising pictures (pilot)');
    const done = preview.waitForURL(/\/admin\/studies\/e2e-vision\?preview=completed/, { timeout: 60_000 });
    const driving = driveParticipant(preview, { plan: planOf(pid), answer: alwaysRight as AnswerPolicy, timeoutMs: 60_000 }).catch(
      () => undefined,
    );
    await done;
    expect(await preview.locator('.flash-ok').textContent()).toContain('Your preview run is complete');
    await shot(preview, '07-preview-finished');
    await preview.close();
    await driving;
    expect(await server.store.countSessions(STUDY)).toEqual(before);
  });

  it('pauses and closes the study from its page', async () => {
    await page.goto(`${server.url}/admin/studies/${STUDY}`);
    await Promise.all([page.waitForURL(/done=pause/), page.click('[data-action="pause"]')]);
    expect(await page.locator('h1 .badge').first().textContent()).toBe('Paused');
    await Promise.all([page.waitForURL(/done=close/), page.click('[data-action="close"]')]);
    expect(await page.locator('h1 .badge').first().textContent()).toBe('Closed');
    expect((await server.store.getStudy(STUDY))!.status).toBe('closed');
    await page.goto(`${server.url}/admin`);
    await shot(page, '08-studies-after');
    // Log out: the cookie is gone and the dashboard asks for the token again.
    await Promise.all([page.waitForURL(`${server.url}/admin/login`), page.click('button:has-text("Log out")')]);
    const res = await page.goto(`${server.url}/admin`);
    expect(res!.status()).toBe(401);
  });
});
