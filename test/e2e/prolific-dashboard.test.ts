/**
 * The Prolific loop on the dashboard, in Chromium, against the local stand-in of Prolific's API
 * (never Prolific itself): the panel without a token, linking, "Sync now", and approving from the
 * payments view in two steps. Screenshots go to test-output/prolific/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { launchChromium, type TestBrowser } from '../support/browser.ts';
import { ProlificStandIn, STAND_IN_TOKEN } from '../support/prolific-stand-in.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, startTestServer, type TestServer } from '../support/test-server.ts';
import { answerTrials } from '../api/admin-participants.ts';
import { type Arrival, arrive, completeHere, participantIdOf, prolificPid } from '../api/prolific-helpers.ts';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const OUT = path.resolve(import.meta.dirname, '../../test-output/prolific');
let chromium: TestBrowser;
let server: TestServer;
let standIn: ProlificStandIn;
let admin: BrowserContext;
let page: Page;
let study: string;
const done: Arrival[] = [];
let strangerPid: string;

async function shot(name: string) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

const studyPage = () => `${server.url}/admin/studies/fixture-study`;

beforeAll(async () => {
  delete process.env.PROLIFIC_API_TOKEN;
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  chromium = await launchChromium();
  server = await startTestServer();
  standIn = await ProlificStandIn.start();
  study = standIn.addStudy([
    { code: COMPLETION_CODE, code_type: 'COMPLETED' },
    { code: SCREENOUT_CODE, code_type: 'SCREENED_OUT' },
  ]);
  // done[0] answers bare (flagged for the missing measurements), done[1] as the study's page does.
  for (let i = 0; i < 2; i++) {
    const a = await arrive(server, standIn, study);
    await completeHere(server, standIn, a, i === 1);
    done.push(a);
  }
  const gone = await arrive(server, standIn, study);
  await answerTrials(server, gone.view, { to: 1 });
  standIn.setStatus(gone.submission.id, 'RETURNED');
  strangerPid = prolificPid();
  standIn.setStatus(standIn.addSubmission(study, strangerPid).id, 'AWAITING REVIEW');

  admin = await chromium.browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = await admin.newPage();
  await page.goto(`${server.url}/admin`);
  await page.fill('#token', server.admin.token.token);
  await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')]);
});
afterAll(async () => {
  delete process.env.PROLIFIC_API_TOKEN;
  delete process.env.PROLIFIC_API_URL;
  await admin?.close();
  await chromium?.close();
  await standIn?.close();
  await server?.dispose();
});
afterEach(() => {
  expect(standIn.violations).toEqual([]);
});

describe('the Prolific panel and approvals', () => {
  it('without PROLIFIC_API_TOKEN the panel says in one line what to set', async () => {
    await page.goto(studyPage());
    const panel = page.locator('#prolific');
    expect(await panel.getAttribute('data-prolific')).toBe('unlinked');
    const line = (await panel.locator('[data-field=prolific-not-set-up]').innerText()).replace(/\s+/g, ' ');
    expect(line).toContain('set PROLIFIC_API_TOKEN on the server');
    expect(await panel.locator('form').count()).toBe(0);
  });

  it('links the study and syncs it: the returned session is released, completed ones await review', async () => {
    process.env.PROLIFIC_API_TOKEN = STAND_IN_TOKEN;
    process.env.PROLIFIC_API_URL = standIn.url;
    await page.goto(studyPage());
    await page.fill('#prolific input[name=prolific_study_id]', study);
    await Promise.all([page.waitForURL(`${studyPage()}#prolific`), page.click('[data-action=prolific-link]')]);
    expect(await page.locator('[data-field=prolific-study]').textContent()).toBe(study);
    expect(await page.locator('[data-field=prolific-synced]').textContent()).toBe('—');
    await Promise.all([page.waitForURL(`${studyPage()}#prolific`), page.click('[data-action=prolific-sync]')]);
    expect(await page.locator('[data-field=prolific-released]').textContent()).toContain('returned 1');
    expect(await page.locator('[data-field=prolific-review]').textContent()).toBe('2');
    expect(await page.locator('[data-mismatch=submissions_without_session]').textContent()).toContain('1 on Prolific with no session here');
    // The study page stays pseudonymous: no Prolific ID on it.
    expect(await page.content()).not.toContain(strangerPid);
    await page.locator('#prolific').scrollIntoViewIfNeeded();
    await shot('01-study-panel');
  });

  it('approves from the payments view after a confirm step, and only what was ticked', async () => {
    await page.goto(`${studyPage()}/payments`);
    await Promise.all([page.waitForURL(`${studyPage()}/prolific/approve`), page.click('[data-action=prolific-approve]')]);
    const boxes = page.locator('table[data-table=review] input[type=checkbox]');
    expect(await boxes.count()).toBe(2);
    // The unflagged session is ticked; the flagged one is left for the experimenter, with its reason.
    const [first, second] = [await participantIdOf(server, done[0]!), await participantIdOf(server, done[1]!)];
    expect(await page.isChecked(`input[value="${first}"]`)).toBe(false);
    expect(await page.isChecked(`input[value="${second}"]`)).toBe(true);
    const flaggedRow = page.locator('table[data-table=review] tr', { has: page.locator(`input[value="${first}"]`) });
    expect(await flaggedRow.locator('[data-flags]').getAttribute('data-flags')).toBe('missing_measurements');
    expect(await page.locator('table[data-table=unmatched]').textContent()).toContain(strangerPid);
    await shot('02-approve-choose');

    await page.uncheck(`input[value="${second}"]`);
    await page.click('[data-action=prolific-approve-continue]');
    expect(await page.locator('.flash-error').textContent()).toContain('Tick at least one session');

    // The flagged session alone, approved because a person chose it (the page came back with its defaults).
    await page.uncheck(`input[value="${second}"]`);
    await page.check(`input[value="${first}"]`);
    await page.click('[data-action=prolific-approve-continue]');
    expect(await page.locator('h1').textContent()).toBe('Confirm the approvals');
    expect(await page.locator('[data-field=confirm-count]').textContent()).toBe('1');
    expect(standIn.submissions.get(done[0]!.submission.id)!.status).toBe('AWAITING REVIEW');
    await shot('03-approve-confirm');

    await page.click('[data-action=prolific-approve-confirm]');
    expect(await page.locator('h1').textContent()).toBe('Approvals sent');
    expect(await page.locator('.flash-ok').textContent()).toContain('Approved 1 on Prolific');
    await shot('04-approve-result');
    expect(standIn.submissions.get(done[0]!.submission.id)!.status).toBe('APPROVED');
    expect(standIn.submissions.get(done[1]!.submission.id)!.status).toBe('AWAITING REVIEW');

    await page.goto(studyPage());
    expect(await page.locator('[data-field=prolific-approved]').textContent()).toBe('1');
    expect(await page.locator('[data-field=prolific-review]').textContent()).toBe('1');
  });

  it('has the same as JSON: the overview, and approval with a dry run', async () => {
    const second = await participantIdOf(server, done[1]!);
    const overview = await page.request.get(`${server.url}/admin/api/studies/fixture-study/prolific`);
    expect(overview.status()).toBe(200);
    const o = await overview.json();
    expect(o.review.map((r: { participant_id: string }) => r.participant_id)).toEqual([second]);
    expect(JSON.stringify(o)).not.toContain(strangerPid);
    const dry = await page.request.post(`${studyPage()}/prolific/approve`, {
      data: { participant: [second], dry_run: true },
      headers: { Accept: 'application/json' },
    });
    expect(dry.status()).toBe(200);
    expect((await dry.json()).approved.map((c: { participant_id: string }) => c.participant_id)).toEqual([second]);
    expect(standIn.submissions.get(done[1]!.submission.id)!.status).toBe('AWAITING REVIEW');
    const nobody = await page.request.post(`${studyPage()}/prolific/approve`, {
      data: { participant: [] },
      headers: { Accept: 'application/json' },
    });
    expect(nobody.status()).toBe(422);
  });
});
