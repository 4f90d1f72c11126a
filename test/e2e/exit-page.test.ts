/**
 * The last page when the redirect to Prolific cannot happen: the study's exit host is unreachable
 * (a closed port on this machine), and the completion code, and the screen-out code, must stay on
 * screen with a working Copy button, the browser still on the study's page. With a reachable exit
 * host (a local stand-in for Prolific's completion URL) the page does leave, to exactly that URL.
 * A participant who opens the link again after the end sees the code on the server's own page.
 */
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeStudyStatus, createStudy } from '../../server/studies.ts';
import { launchChromium, type TestBrowser } from '../support/browser.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, startTestServer, type TestServer } from '../support/test-server.ts';
import { answerTrials, startParticipant } from '../api/admin-participants.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-output/exit-page');

/** A port on 127.0.0.1 with nothing listening: connections are refused at once. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let chromium: TestBrowser;
let server: TestServer;
let unreachable = '';
/** Stands in for app.prolific.com's completion URL: records what arrives. */
let prolific: http.Server;
const arrived: { method: string; url: string }[] = [];
let counter = 0;
const newPid = () => `5f0c0ffee0000000000e${String(++counter).padStart(4, '0')}`;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  unreachable = `https://127.0.0.1:${await closedPort()}/submissions/complete`;
  server = await startTestServer({
    study: { prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE, complete_url: unreachable } },
  });
  prolific = http.createServer((req, res) => {
    arrived.push({ method: req.method!, url: req.url! });
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<h1>Prolific stand-in</h1>');
  });
  await new Promise<void>((r) => prolific.listen(0, '127.0.0.1', r));
  await createStudy(server.store, {
    id: 'reachable-study',
    stimulus_set: 'fixture',
    modality: 'image',
    prolific: {
      completion_code: 'REACHED1',
      screenout_code: 'REACHED0',
      complete_url: `http://127.0.0.1:${(prolific.address() as net.AddressInfo).port}/submissions/complete`,
    },
    target_completed: 5,
    protocol: { practice_trials: 2, slow_practice_trials: 1, screening_trials: 3, screening_min_correct: 2, catch_trials: 1 },
    timing: { blank_ms: 100, fixation_ms: 100, stimulus_ms: 100, practice_stimulus_ms: 150, mask_ms: 100 },
  });
  await changeStudyStatus(server.store, 'reachable-study', 'launch');
  chromium = await launchChromium();
});
afterAll(async () => {
  await chromium?.close();
  await server?.dispose();
  await new Promise((r) => prolific?.close(r));
});

/**
 * A participant whose trials are stored through the API, so that the page goes straight to the
 * end: every trial (the gate passed), or up to the screening answered wrongly without asking the
 * gate (the page asks it, as after any reload).
 */
async function openAtTheEnd(pid: string, study = 'fixture-study', ending: 'completed' | 'screened_out' = 'completed') {
  const { status, view } = await startParticipant(server, pid, study);
  expect(status).toBe(200);
  if (ending === 'completed') await answerTrials(server, view);
  else
    await answerTrials(
      server,
      { ...view, screening_last_index: null },
      { to: view.screening_last_index! + 1, correct: (_i, t) => t.phase !== 'screening' },
    );
  const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  await page.goto(`${server.url}/run/${study}?PROLIFIC_PID=${pid}&STUDY_ID=st&SESSION_ID=se-${pid}`);
  // Welcome back → full screen: then the gate and completion come by themselves.
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('#jspsych-fullscreen-btn').click();
  return { page, context, requests };
}

async function expectCodeShown(page: Page, code: string) {
  const field = page.locator('#metamer-code-value');
  await field.waitFor();
  expect(await field.inputValue()).toBe(code);
  expect(await field.isVisible()).toBe(true);
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect.poll(() => page.getByRole('button', { name: /Copied|Copy/ }).innerText()).toBe('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
}

describe('the exit host is unreachable', () => {
  it('the completion code stays visible, with Copy, and the page does not leave', { timeout: 120_000 }, async () => {
    const pid = newPid();
    const { page, context, requests } = await openAtTheEnd(pid);
    await page.locator('main[data-exit-state="unreachable"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'completed-unreachable.png') });
    await expectCodeShown(page, COMPLETION_CODE);
    const text = await page.locator('main').innerText();
    expect(text).toContain('Thank you!');
    expect(text).toContain('Prolific cannot be reached from here at the moment');
    expect(await page.getByRole('link', { name: 'Return to Prolific' }).getAttribute('href')).toBe(`${unreachable}?cc=${COMPLETION_CODE}`);
    // The page asked the exit host (and got no answer), and is still the study's page.
    expect(requests).toContain(`HEAD ${new URL(unreachable).origin}/`);
    expect(page.url()).toContain('/run/fixture-study');
    expect((await server.store.findSession('fixture-study', pid))!.state).toBe('completed');

    // Opening the link again: the server's page, with the code and a working Copy button.
    await page.reload();
    await page.getByText('You have already completed this study').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'already-completed.png') });
    await expectCodeShown(page, COMPLETION_CODE);
    await context.close();
  });

  it('so does the screen-out code', { timeout: 120_000 }, async () => {
    const pid = newPid();
    const { page, context } = await openAtTheEnd(pid, 'fixture-study', 'screened_out');
    await page.locator('main[data-exit-state="unreachable"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'screened-out-unreachable.png') });
    await expectCodeShown(page, SCREENOUT_CODE);
    expect(await page.locator('main').innerText()).toContain('did not reach the level this study needs');
    expect((await server.store.findSession('fixture-study', pid))!.state).toBe('screened_out');
    await context.close();
  });
});

describe('the exit host answers', () => {
  it('the page shows the code, then goes to the completion URL with it', { timeout: 120_000 }, async () => {
    const pid = newPid();
    const { page, context } = await openAtTheEnd(pid, 'reachable-study');
    await page.waitForURL(/\/submissions\/complete\?cc=REACHED1$/, { timeout: 30_000 });
    expect(await page.locator('h1').innerText()).toBe('Prolific stand-in');
    // First the check of the host (no cookies, no path beyond "/"), then the navigation (and the
    // browser's own favicon request for the page it arrived at).
    expect(arrived.filter((r) => r.url !== '/favicon.ico')).toEqual([
      { method: 'HEAD', url: '/' },
      { method: 'GET', url: '/submissions/complete?cc=REACHED1' },
    ]);
    await context.close();
  });
});
