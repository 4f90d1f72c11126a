/**
 * Every participant's device gets a sensible path, in real Chromium emulating a phone (390 × 844,
 * touch, iPhone user agent), a tablet (1024 × 768, touch, iPad user agent) and a laptop
 * (1280 × 800), for an image and an audio study with the default device policy:
 * - the phone is turned away before consent: the page names the study's requirement and links to
 *   return the study on Prolific; no session exists (no slot held); the dashboard counts it once;
 * - the tablet and the laptop reach consent, then instructions that mention no key a touch device
 *   lacks, then a response screen whose question stands above its buttons, in a layout that does
 *   not move between the start of a trial and the answer;
 * - a laptop without WebAudio is turned away from the audio study for its sound, and a laptop
 *   window too small for the audio study is asked to grow and goes on by itself once it has.
 * Screenshots of every page go to test-output/devices/ (looked at by eye; not committed).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, logIn } from '../api/admin-participants.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-output/devices');

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const IPAD_UA =
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

const DEVICES: Record<'phone' | 'tablet' | 'laptop', BrowserContextOptions> = {
  phone: {
    viewport: { width: 390, height: 844 },
    screen: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
    deviceScaleFactor: 2,
    userAgent: IPHONE_UA,
  },
  tablet: {
    viewport: { width: 1024, height: 768 },
    screen: { width: 1024, height: 768 },
    hasTouch: true,
    isMobile: true,
    userAgent: IPAD_UA,
  },
  laptop: { viewport: { width: 1280, height: 800 }, screen: { width: 1280, height: 800 } },
};

const REQUIREMENT = {
  image: 'This study needs a computer or a tablet with a screen of at least 640 × 480 pixels and a mouse, trackpad or touch screen.',
  audio:
    'This study needs a computer or a tablet with a screen of at least 640 × 480 pixels, a mouse, trackpad or touch screen and sound through headphones (both ears).',
};

let chromium: TestBrowser;
const servers: Record<'image' | 'audio', TestServer> = {} as never;
let pidCounter = 0;
const newPid = () => `5f0c0ffee0000000000d${String(++pidCounter).padStart(4, '0')}`;

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  chromium = await launchChromium({ audio: true });
  servers.image = await startTestServer({ modality: 'image' });
  servers.audio = await startTestServer({ modality: 'audio' });
});
afterAll(async () => {
  await chromium?.close();
  await servers.image?.dispose();
  await servers.audio?.dispose();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function open(modality: 'image' | 'audio', device: BrowserContextOptions, pid: string, init?: string) {
  const context = await chromium.browser.newContext(device);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  await page.goto(`${servers[modality].url}/run/fixture-study?PROLIFIC_PID=${pid}&STUDY_ID=st&SESSION_ID=se-${pid}`);
  return { context, page };
}

/** The first page the participant sees: the turn-away page or the consent page. */
async function firstPage(page: Page): Promise<'turned-away' | 'consent' | 'window'> {
  const turned = page.locator('main[data-turned-away]');
  const consent = page.getByRole('button', { name: 'I agree, continue' });
  const window = page.getByRole('button', { name: 'I cannot make the window any larger' });
  await expect
    .poll(async () => (await turned.count()) + (await consent.count()) + (await window.count()), { timeout: 30_000 })
    .toBeGreaterThan(0);
  if ((await turned.count()) > 0) return 'turned-away';
  return (await consent.count()) > 0 ? 'consent' : 'window';
}

async function expectTurnedAway(modality: 'image' | 'audio', page: Page, pid: string, reason: string, before: number) {
  const main = page.locator('main[data-turned-away]');
  expect(await main.getAttribute('data-turned-away')).toBe(reason);
  const text = await main.innerText();
  expect(text).toContain('This study cannot run on this device');
  expect(text).toContain(REQUIREMENT[modality]);
  const link = page.getByRole('link', { name: 'Return the study on Prolific' });
  expect(await link.getAttribute('href')).toBe('https://app.prolific.com/submissions');
  const server = servers[modality];
  // Counted (the report is sent as the page shows), and no session: no slot is held.
  await expect.poll(async () => (await server.store.turnAwayCounts('fixture-study')).total).toBe(before + 1);
  expect(await server.store.findSession('fixture-study', pid)).toBeUndefined();
}

/** Both accepted devices: consent → (full screen) → instructions → a trial's response screen. */
async function runToFirstAnswer(modality: 'image' | 'audio', name: string, page: Page, touch: boolean) {
  await page.getByRole('button', { name: 'I agree, continue' }).click();
  if (modality === 'image') {
    await page.locator('#jspsych-fullscreen-btn').click();
    await page.getByRole('button', { name: 'Begin' }).waitFor();
    await shot(page, `${name}-3-instructions`);
    const instructions = await page.locator('#jspsych-content').innerText();
    if (touch) {
      expect(instructions).toContain('tap Start trial');
      expect(instructions).not.toMatch(/space bar|Enter|arrow keys|click/i);
    } else {
      expect(instructions).toContain('press Start trial (or the space bar)');
    }
    await page.getByRole('button', { name: 'Begin' }).click();
    const start = page.locator('.metamer-start');
    await start.waitFor({ timeout: 60_000 });
    await shot(page, `${name}-4-trial-start`);
    const stageBefore = await page.locator('.metamer-stage').boundingBox();
    const buttonsBefore = await page.locator('#jspsych-image-button-response-btngroup').boundingBox();
    await start.click();
    await page.locator('#jspsych-image-button-response-btngroup.visible button:enabled').first().waitFor();
    await shot(page, `${name}-5-response`);
    const question = page.locator('.metamer-stage > .metamer-question.visible');
    expect(await question.innerText()).toBe('What did the image show?');
    const q = (await question.boundingBox())!;
    const buttons = (await page.locator('#jspsych-image-button-response-btngroup').boundingBox())!;
    expect(q.y + q.height).toBeLessThanOrEqual(buttons.y);
    // Nothing moved between the start of the trial and the answer, and the stage, its question and
    // the buttons share one centre line.
    const stage = (await page.locator('.metamer-stage').boundingBox())!;
    expect(stage).toEqual(stageBefore);
    const centre = (b: { x: number; width: number }) => Math.round(b.x + b.width / 2);
    expect([centre(q), centre(buttons)]).toEqual([centre(stage), centre(stage)]);
    expect(buttons).toEqual(buttonsBefore);
    // Every answer button is on screen, none cut off.
    const viewport = page.viewportSize()!;
    for (const b of await page.locator('#jspsych-image-button-response-btngroup button').all()) {
      const box = (await b.boundingBox())!;
      expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height).toBe(true);
    }
    return;
  }
  // Audio: the sound check, then the headphone check's first trial.
  const play = page.locator('#metamer-calibration-play');
  await play.waitFor({ timeout: 60_000 });
  await shot(page, `${name}-3-sound-check`);
  expect(await page.locator('#jspsych-content').innerText()).toContain("set your device's volume");
  await play.click();
  const cont = page.locator('#jspsych-html-button-response-btngroup button', { hasText: 'Continue' });
  await cont.and(page.locator(':enabled')).waitFor({ timeout: 30_000 });
  await cont.click();
  await page.getByRole('button', { name: 'Play' }).click();
  const buttons = page.locator('#jspsych-audio-button-response-btngroup');
  await buttons.locator('button:enabled').first().waitFor({ timeout: 30_000 });
  await shot(page, `${name}-4-headphone-trial`);
  const q = (await page.locator('#jspsych-content > .metamer-question').boundingBox())!;
  expect(await page.locator('#jspsych-content > .metamer-question').innerText()).toBe('Which sound was the quietest: 1, 2 or 3?');
  expect(q.y + q.height).toBeLessThanOrEqual((await buttons.boundingBox())!.y);
}

for (const modality of ['image', 'audio'] as const) {
  describe(`${modality} study`, () => {
    it('phone: turned away before consent, with the return link; no session; counted once', { timeout: 120_000 }, async () => {
      const pid = newPid();
      const before = (await servers[modality].store.turnAwayCounts('fixture-study')).total;
      const { context, page } = await open(modality, DEVICES.phone, pid);
      try {
        expect(await firstPage(page)).toBe('turned-away');
        await shot(page, `${modality}-phone-1-turned-away`);
        await expectTurnedAway(modality, page, pid, 'device', before);
        expect(await page.locator('main[data-turned-away]').innerText()).toContain('this screen is 390 × 844 pixels');
        // Opening the link again on the phone does not count twice.
        await page.reload();
        expect(await firstPage(page)).toBe('turned-away');
        await page.waitForLoadState('networkidle');
        expect((await servers[modality].store.turnAwayCounts('fixture-study')).total).toBe(before + 1);
      } finally {
        await context.close();
      }
    });

    for (const name of ['tablet', 'laptop'] as const) {
      it(`${name}: consent, instructions for this device, the question above the buttons`, { timeout: 180_000 }, async () => {
        const pid = newPid();
        const { context, page } = await open(modality, DEVICES[name], pid);
        try {
          const first = await firstPage(page);
          expect(first, first === 'turned-away' ? await page.locator('main').innerText() : '').toBe('consent');
          await shot(page, `${modality}-${name}-1-consent`);
          const consent = await page.locator('#jspsych-content').innerText();
          expect(consent).toContain(`A study on recognising ${modality === 'image' ? 'images' : 'sounds'}`);
          expect(consent).toContain('It takes place in your browser');
          expect(await servers[modality].store.findSession('fixture-study', pid)).toBeDefined();
          await runToFirstAnswer(modality, `${modality}-${name}`, page, name === 'tablet');
        } finally {
          await context.close();
        }
      });
    }
  });
}

describe('audio study, laptop', () => {
  it('without WebAudio: turned away for its sound', { timeout: 120_000 }, async () => {
    const pid = newPid();
    const before = (await servers.audio.store.turnAwayCounts('fixture-study')).total;
    const { context, page } = await open('audio', DEVICES.laptop, pid, 'delete window.AudioContext; delete window.webkitAudioContext;');
    try {
      expect(await firstPage(page)).toBe('turned-away');
      await shot(page, 'audio-laptop-no-webaudio-turned-away');
      await expectTurnedAway('audio', page, pid, 'audio', before);
      expect(await page.locator('main[data-turned-away]').innerText()).toContain('this browser cannot play sound the way the study needs');
    } finally {
      await context.close();
    }
  });

  it('a window too small is asked to grow, and the study goes on by itself once it has', { timeout: 120_000 }, async () => {
    const pid = newPid();
    const { context, page } = await open('audio', { ...DEVICES.laptop, viewport: { width: 600, height: 400 } }, pid);
    try {
      expect(await firstPage(page)).toBe('window');
      await shot(page, 'audio-laptop-small-window');
      expect(await page.locator('main.message').innerText()).toContain(
        'Please enlarge it to at least 640 × 480 pixels (it is now 600 × 400)',
      );
      // Nothing started yet.
      expect(await servers.audio.store.findSession('fixture-study', pid)).toBeUndefined();
      await page.setViewportSize({ width: 1280, height: 800 });
      expect(await firstPage(page)).toBe('consent');
    } finally {
      await context.close();
    }
  });
});

describe('the dashboard', () => {
  it('shows each study’s turned-away count', { timeout: 60_000 }, async () => {
    for (const modality of ['image', 'audio'] as const) {
      const server = servers[modality];
      const cookie = await logIn(server);
      const progress = JSON.parse((await adminGet(server, cookie, '/admin/api/studies/fixture-study', 'application/json')).text).progress;
      // image: the phone; audio: the phone and the laptop without WebAudio.
      expect([modality, progress.turned_away.total]).toEqual([modality, modality === 'image' ? 1 : 2]);
      expect(progress.turned_away.by_reason).toEqual(modality === 'image' ? { device: 1 } : { device: 1, audio: 1 });
      const context = await chromium.browser.newContext(DEVICES.laptop);
      const [name, value] = cookie.split('=');
      await context.addCookies([{ name: name!, value: value!, url: server.url }]);
      const page = await context.newPage();
      await page.goto(`${server.url}/admin/studies/fixture-study`);
      expect(await page.locator('[data-field="turned-away"]').innerText()).toBe(String(progress.turned_away.total));
      await page.screenshot({ path: path.join(SHOTS, `${modality}-dashboard.png`), fullPage: true });
      await context.close();
    }
  });
});
