/**
 * A whole image study on a slow line (Chromium's own network emulation: 1.6 Mbit/s, 150 ms round
 * trip, test/support/network-profiles.ts) with paper-size 224 px images: the participant answers
 * as fast as the page lets them, and one trial's image is held back on the line until the page
 * says it is waiting for it. Every trial must still show its own, fully decoded image for every
 * frame of its on-screen time (the timing bench's frame observer, plus the canvas's pixels at each
 * of those frames), the waits must be recorded per trial and exported as `wait_ms`, and the loader
 * must ask for nothing but the session's own stimulus files, each once.
 */
import Database from 'better-sqlite3';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { psychDsDataset } from '../../analysis/psych-ds.ts';
import { bundleBenchPage } from '../../bench/support.ts';
import { onScreenRuns, type FrameLog } from '../../bench/on-screen-runs.ts';
import { median } from '../../bench/order-statistics.ts';
import type { PaintLog } from '../../bench/pages/paint-observer.ts';
import { pixelChecksum } from '../../bench/pages/pixel-checksum.ts';
import { loadExportAt } from '../support/study-data.ts';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { emulateNetwork, NETWORK_PROFILES } from '../support/network-profiles.ts';
import { driveParticipant } from '../support/participant-driver.ts';
import { COMPLETION_CODE, pidOf, startTestServer, type TestServer } from '../support/test-server.ts';

let chromium: TestBrowser;
let server: TestServer;
beforeAll(async () => {
  chromium = await launchChromium();
  server = await startTestServer({ modality: 'image', set: { size: 224, sourcesPerCategory: 2 } });
});
afterAll(async () => {
  await chromium?.close();
  await server?.dispose();
});

/** The trial whose image the line holds back (a screening trial, past the practice feedback). */
const HELD = 3;

/**
 * On the page's own clock: when a wait message appeared and went (a mutation observer), and the
 * observers' logs, all kept in localStorage when the page leaves for Prolific (the redirect ends it).
 */
const PROLIFIC_ORIGIN = 'https://app.prolific.com';
const KEEP_LOGS = `window.__messages = [];
new MutationObserver(() => {
  const shown = (document.body?.textContent ?? '').includes('Loading the next image');
  const last = window.__messages[window.__messages.length - 1];
  if (shown && (!last || last.gone !== undefined)) window.__messages.push({ shown: performance.now() });
  if (!shown && last && last.gone === undefined) last.gone = performance.now();
}).observe(document, { childList: true, subtree: true, characterData: true });
addEventListener('pagehide', () => {
  localStorage.setItem('observed', JSON.stringify({ frames: window.__frames, paint: window.__paint, messages: window.__messages }));
});`;

describe('a study on a slow line', () => {
  it('completes with every trial showing its whole decoded image for its whole duration, and exports wait_ms', async () => {
    const pid = pidOf('slow-network');
    const context = await newParticipantContext(chromium.browser);
    for (const observer of ['bench/pages/frame-observer.ts', 'bench/pages/paint-observer.ts']) {
      await context.addInitScript({ content: String(await bundleBenchPage(observer)) });
    }
    await context.addInitScript({ content: KEEP_LOGS });
    const page = await context.newPage();
    const cdp = await emulateNetwork(page, NETWORK_PROFILES.slow);
    // Stimulus requests pass through DevTools' request interception: all go on at once but the held
    // trial's image, which waits until the page shows that it is waiting for it.
    let view: SessionView | null = null;
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const paused: { requestId: string; url: string }[] = [];
    const pass = (p: { requestId: string; url: string }) => {
      const held = view !== null && new URL(p.url).href === new URL(view.trials[HELD]!.stimulus, server.url).href;
      void (held ? released : Promise.resolve()).then(() => cdp.send('Fetch.continueRequest', { requestId: p.requestId }).catch(() => {}));
    };
    cdp.on('Fetch.requestPaused', (e) => {
      // Prolific cannot be reached from here: a stand-in page lets the completion redirect commit at
      // once, so the participant page's pagehide (which keeps the logs) does not wait on DNS.
      if (e.request.url.startsWith(PROLIFIC_ORIGIN)) {
        const body = Buffer.from('<p>Prolific (stand-in)</p>').toString('base64');
        void cdp.send('Fetch.fulfillRequest', { requestId: e.requestId, responseCode: 200, body }).catch(() => {});
        return;
      }
      const p = { requestId: e.requestId, url: e.request.url };
      if (view === null) paused.push(p);
      else pass(p);
    });
    await cdp.send('Fetch.enable', {
      patterns: [
        { urlPattern: '*/stimuli/*', requestStage: 'Request' },
        { urlPattern: `${PROLIFIC_ORIGIN}/*`, requestStage: 'Request' },
      ],
    });
    const requests = new Map<string, string>();
    const fromNetwork: string[] = [];
    cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, e.request.url));
    cdp.on('Network.responseReceived', (e) => {
      if (!e.response.fromDiskCache && !e.response.fromServiceWorker) fromNetwork.push(e.response.url);
    });
    // The session the page was given, read off the wire (the page exposes none of its state).
    const started = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/studies\/[^/]+\/sessions$/.test(r.url()));
    await page.goto(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}`);
    view = (await (await started).json()) as SessionView;
    for (const p of paused.splice(0)) pass(p);
    const plan = async () => (await server.store.getSession((await server.store.findSession('fixture-study', pid))!.id))!.plan.trials;
    const driving = driveParticipant(page, { plan, timeoutMs: 240_000 });
    // The participant reaches the held trial: a wait, said in words, with no trial on the screen.
    const message = page.getByText('Loading the next image…');
    await message.waitFor({ timeout: 120_000 });
    expect(await page.locator('.metamer-start, #jspsych-image-button-response-stimulus').count()).toBe(0);
    release();
    const result = await driving;
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);

    await page.waitForURL(`${PROLIFIC_ORIGIN}/**`);
    const check = await context.newPage();
    await check.goto(`${server.url}/healthz`);
    // The participant page stored its logs as it was hidden, in another renderer: Chromium passes
    // localStorage writes between processes asynchronously, so they may arrive a moment later.
    const observed = () => check.evaluate(() => localStorage.getItem('observed'));
    await expect.poll(observed, { timeout: 10_000 }).not.toBeNull();
    const { frames, paint, messages } = JSON.parse((await observed())!) as {
      frames: FrameLog;
      paint: PaintLog;
      messages: { shown: number; gone: number }[];
    };

    // What each trial's image really is: its PNG, decoded here.
    const expected = new Map<string, number>();
    for (const t of view.trials) {
      const png = PNG.sync.read(Buffer.from(await (await fetch(new URL(t.stimulus, server.url))).arrayBuffer()));
      expected.set(t.stimulus, pixelChecksum(png.data));
    }
    const runs = onScreenRuns(frames);
    expect(runs).toHaveLength(view.trials.length);
    const frameMs = median(frames.t.slice(1).map((t, i) => t - frames.t[i]!));
    for (const [i, run] of runs.entries()) {
      const t = view.trials[i]!;
      const target = t.stimulus_ms ?? view.timing.stimulus_ms;
      // Frame-locked: never shorter than the target (half a frame's rounding), at most a late frame longer.
      expect(run.ms, `trial ${t.index} on screen`).toBeGreaterThanOrEqual(target - frameMs / 2);
      expect(run.ms, `trial ${t.index} on screen`).toBeLessThanOrEqual(target + 2.5 * frameMs);
      const shown = paint.stimulus.filter((p) => p.t >= run.onset && p.t < run.offset);
      expect(shown).toHaveLength(run.frames);
      for (const p of shown) expect(p.sum, `trial ${t.index}: the canvas at ${p.t.toFixed(0)} ms`).toBe(expected.get(t.stimulus));
    }
    expect(paint.mask.length).toBeGreaterThan(0);
    expect(paint.mask.every((m) => m.loaded)).toBe(true);

    // Every trial records its wait; each wait message was up no longer than a recorded wait, and
    // the held trial waited.
    const session = (await server.store.findSession('fixture-study', pid))!.id;
    const db = new Database(server.dbFile, { readonly: true });
    const rows = db.prepare('SELECT trial_index, data FROM trials WHERE session_id = ? ORDER BY trial_index').all(session) as {
      trial_index: number;
      data: string;
    }[];
    db.close();
    const waits = rows.map((r) => JSON.parse(r.data).timings.wait_ms as number);
    expect(waits.every((w) => Number.isInteger(w) && w >= 0)).toBe(true);
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) expect(waits.some((w) => w >= Math.floor(m.gone - m.shown))).toBe(true);
    expect(waits[HELD]).toBeGreaterThan(0);

    const exported = await loadExportAt(server.dbFile, 'fixture-study');
    expect(exported.columns.map((c) => c.name)).toContain('wait_ms');
    // This server's only session.
    expect(exported.rows.map((r) => r.wait_ms)).toEqual(waits);
    const dictionary = JSON.parse(psychDsDataset(exported)['dataset_description.json']!).variableMeasured as {
      name: string;
      description: string;
    }[];
    expect(dictionary.find((v) => v.name === 'wait_ms')?.description).toMatch(/wait/);

    // The loader asked for the session's own files only, by their opaque names, each over the network once.
    const files = new Set(
      view.trials.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])).map((u) => new URL(u, server.url).href),
    );
    const stimulusRequests = [...requests.values()].filter((u) => new URL(u).pathname.startsWith('/stimuli/'));
    for (const u of stimulusRequests) expect(files.has(u), u).toBe(true);
    const loaded = fromNetwork.filter((u) => files.has(u));
    expect(new Set(loaded).size).toBe(loaded.length);
    expect(new Set(loaded)).toEqual(files);
    await context.close();
  }, 300_000);
});
