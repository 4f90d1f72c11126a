/**
 * The participant page on participants' connections: how long until the first trial can start,
 * how long trials keep a participant waiting, and how many bytes were fetched for nothing — each
 * beside jsPsych's own preload plugin running the same study in the same run.
 *
 * Set-up: paper-size stimulus sets generated into a temporary folder (bench/paper-size-set.ts:
 * 400 sources, 224 px PNGs of ~105 KB; 2 s 20 kHz WAVs), imported and launched as one image and
 * one audio study (no practice, no screening, no headphone check: the main block with its 16
 * catch trials and the paper's timing), the real server as a separate process, and in front of it
 * a small proxy that also serves the baseline page (bench/pages/preload-baseline.ts: the same
 * session API, the same trial code, jsPsych's preload plugin per block) from the same origin.
 *
 * Each run is a fresh Chromium context (nothing cached) with the profile's network emulation
 * (test/support/network-profiles.ts). Playwright clicks through the steps before the first trial
 * as soon as each button is usable; then an injected participant (bench/pages/trial-driver.ts)
 * starts every trial at once and answers `--answer-after` ms after the choices appear, until it
 * has answered `--trials`. Observers injected before the page's scripts record, at every rendered
 * frame, the usable buttons and every click (load-observer.ts), the stimulus's visibility
 * (frame-observer.ts) and the canvas's pixels (paint-observer.ts); the DevTools protocol counts
 * every byte received. Read from these:
 * - navigation → first trial usable: the page's own time, as in bench/page.ts — navigation to the
 *   first usable button, plus each click to the next usable button, up to the first trial's Start
 *   trial (image) or Play (audio);
 * - wait between trials: for every later trial, the click that ended the previous one (or a break)
 *   → the first frame in which its Start / Play was usable, less the time to the first frame after
 *   the click (no page can answer a click before its next frame);
 * - bytes fetched never shown: bytes received for stimulus files that none of the answered trials
 *   showed (at the moment the last answer was given);
 * - trials shown in full (image): every frame of the stimulus's run held the trial's own pixels
 *   (what loading decides), and, of those, how many runs also lasted their 300 ms to the frame
 *   (what the machine's load decides: a late frame lengthens a run on either page).
 * Rounds alternate which page goes first within each profile.
 *
 *   npm run bench:network -- [--profiles slow,broadband,loopback] [--modalities image,audio]
 *     [--trials 100] [--rounds 1] [--answer-after 150] [--json out.json]
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { PNG } from 'pngjs';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import type { SessionView } from '../experiment/contract.ts';
import { buildExperimentBundle } from '../server/experiment-bundle.ts';
import { SqliteStore } from '../server/store/sqlite-store.ts';
import { changeStudyStatus, createStudy } from '../server/studies.ts';
import { BlobStore } from '../stimuli/blob-store.ts';
import { importStimulusSet } from '../stimuli/import.ts';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/support/browser.ts';
import { emulateNetwork, NETWORK_PROFILES, type ProfileName } from '../test/support/network-profiles.ts';
import { spawnServer, type ServerProcess } from '../test/support/server-process.ts';
import { pidOf } from '../test/support/test-server.ts';
import { onScreenRuns, type FrameLog } from './on-screen-runs.ts';
import { median } from './order-statistics.ts';
import type { LoadLog } from './pages/load-observer.ts';
import type { BaselineConfig } from './pages/preload-baseline.ts';
import type { PaintLog } from './pages/paint-observer.ts';
import { pixelChecksum } from './pages/pixel-checksum.ts';
import type { DriveConfig, DriveState } from './pages/trial-driver.ts';
import { writePaperSizeSet } from './paper-size-set.ts';
import { bundleBenchPage, freePort, listenOnLoopback, tempDir, type LocalServer } from './support.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const PROFILES = arg('profiles', 'slow,broadband,loopback').split(',') as ProfileName[];
const MODALITIES = arg('modalities', 'image,audio').split(',') as ('image' | 'audio')[];
const TRIALS = Number(arg('trials', '100'));
const ROUNDS = Number(arg('rounds', '1'));
const ANSWER_AFTER_MS = Number(arg('answer-after', '150'));
const JSON_OUT = arg('json', '');
for (const p of PROFILES)
  if (!(p in NETWORK_PROFILES)) throw new Error(`--profiles: unknown profile "${p}" (known: ${Object.keys(NETWORK_PROFILES).join(', ')})`);
for (const m of MODALITIES) if (m !== 'image' && m !== 'audio') throw new Error(`--modalities: "${m}" is not image or audio`);

type Side = 'participant page' | 'jsPsych preload baseline';
const SIDES: Side[] = ['participant page', 'jsPsych preload baseline'];
const STUDY = { image: 'net-image', audio: 'net-audio' } as const;
/** The steps Playwright clicks (real gestures) before the first trial, and that trial's first button. */
const STEPS: Record<Side, Record<'image' | 'audio', string[]>> = {
  'participant page': { image: ['I agree, continue', 'Switch to full screen', 'Begin'], audio: ['I agree, continue', 'Begin'] },
  'jsPsych preload baseline': { image: ['Begin'], audio: ['Begin'] },
};
const FIRST = { image: 'Start trial', audio: 'Play' } as const;

// ---------------------------------------------------------------- set-up

interface Setup {
  dir: string;
  dbFile: string;
  server: ServerProcess;
  front: LocalServer;
  stimulusBytes: Record<string, number>;
}

async function prepare(): Promise<Setup> {
  const dir = await tempDir('network');
  const dbFile = path.join(dir, 'data', 'metamer.db');
  const store = new SqliteStore(dbFile);
  const blobs = new BlobStore(path.join(dir, 'data', 'blobs'));
  const stimulusBytes: Record<string, number> = {};
  for (const modality of MODALITIES) {
    const setDir = path.join(dir, `set-${modality}`);
    await writePaperSizeSet(setDir, modality);
    const { manifest } = await importStimulusSet(setDir, { name: `paper-${modality}`, blobs });
    await store.saveStimulusSet(manifest);
    const files = (await fs.readdir(setDir, { recursive: true, withFileTypes: true })).filter(
      (e) => e.isFile() && /\.(png|wav)$/.test(e.name),
    );
    const sizes = await Promise.all(files.map(async (e) => (await fs.stat(path.join(e.parentPath, e.name))).size));
    stimulusBytes[modality] = sum(sizes) / Math.max(1, sizes.length);
    await createStudy(store, {
      id: STUDY[modality],
      stimulus_set: `paper-${modality}`,
      modality,
      prolific: { completion_code: 'NETDONE', screenout_code: 'NETOUT' },
      target_completed: 100_000,
      // The main block only (400 sources + 16 catch trials, rest breaks at ¼, ½, ¾), the paper's timing.
      protocol: {
        practice_trials: 0,
        slow_practice_trials: 0,
        screening_trials: 0,
        ...(modality === 'audio' ? { headphone_check: 'none' } : {}),
      },
    });
    await changeStudyStatus(store, STUDY[modality], 'launch');
  }
  await store.close();
  const server = await spawnServer(dbFile, await freePort(), { METAMER_SESSION_STARTS_PER_MINUTE: '100000' });
  const front = await startFront(server.url);
  return { dir, dbFile, server, front, stimulusBytes };
}

/**
 * One origin for both pages: the baseline page and its assets, and everything else passed on to
 * the real server (the participant page, the API, the stimulus files with their own headers).
 */
async function startFront(upstream: string): Promise<Setup['front']> {
  const target = new URL(upstream);
  const [js, css] = await Promise.all([
    bundleBenchPage('bench/pages/preload-baseline.ts'),
    buildExperimentBundle().then((b) => b.css.body),
  ]);
  // Compressed as the server compresses the participant page's script.
  const assets = { '/baseline.js': { body: js, type: 'text/javascript' }, '/baseline.css': { body: css, type: 'text/css' } };
  const gz = new Map(Object.entries(assets).map(([p, a]) => [p, zlib.gzipSync(a.body, { level: 9 })]));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const asset = assets[url.pathname as keyof typeof assets];
    if (asset) {
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(200, { 'content-type': asset.type, vary: 'Accept-Encoding', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      return void res.end(gzip ? gz.get(url.pathname) : asset.body);
    }
    if (url.pathname.startsWith('/baseline/')) {
      const config: BaselineConfig = {
        study: decodeURIComponent(url.pathname.slice('/baseline/'.length)),
        pid: url.searchParams.get('pid') ?? 'baseline',
      };
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title><link rel="stylesheet" href="/baseline.css"></head>
<body><div id="jspsych-target"></div><script type="application/json" id="bench-config">${JSON.stringify(config)}</script><script src="/baseline.js" defer></script></body></html>`);
    }
    const proxied = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    proxied.on('error', () => res.destroy());
    req.pipe(proxied);
  });
  return listenOnLoopback(server);
}

// ---------------------------------------------------------------- one run

type Observed = Window & {
  __load: LoadLog;
  __frames: FrameLog;
  __paint: PaintLog;
  __drive: DriveState;
  __startDriving(c: DriveConfig): void;
};

/** Bytes received per URL, from the DevTools protocol (cache hits count nothing). */
function countBytes(cdp: CDPSession): () => Map<string, number> {
  const urls = new Map<string, string>();
  const received = new Map<string, number>();
  const finished = new Map<string, number>();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.dataReceived', (e) =>
    received.set(e.requestId, (received.get(e.requestId) ?? 0) + (e.encodedDataLength || e.dataLength)),
  );
  cdp.on('Network.loadingFinished', (e) => finished.set(e.requestId, e.encodedDataLength));
  cdp.on('Network.requestServedFromCache', (e) => finished.set(e.requestId, 0));
  return () => {
    const out = new Map<string, number>();
    for (const [id, url] of urls) {
      const bytes = finished.get(id) ?? received.get(id) ?? 0;
      out.set(url, (out.get(url) ?? 0) + bytes);
    }
    return out;
  };
}

async function waitForScreen(page: Page, text: string, timeout: number): Promise<void> {
  await page.waitForFunction((t) => (window as unknown as Observed).__load.screens.some((s) => s.buttons.includes(t)), text, {
    timeout,
    polling: 50,
  });
}

interface Run {
  side: Side;
  modality: 'image' | 'audio';
  profile: ProfileName;
  round: number;
  firstTrialMs: number;
  /** Its pieces: navigation → first button, then each pre-trial click → the next usable button. */
  pieces: number[];
  /** Per trial from the second: the page's wait, ms. */
  waits: number[];
  bytesFetched: number;
  bytesNeverShown: number;
  filesFetched: number;
  filesNeverShown: number;
  /** Image trials with the trial's own pixels in every frame of the run, and of those, runs lasting their time to the frame (null: audio). */
  shownInFull: { pixels: number; timed: number } | null;
  /** The participant page's own record: Σ wait_ms over the answered trials (null: baseline). */
  recordedWaitMs: number | null;
}

function readLoad(
  log: LoadLog,
  frames: FrameLog,
  steps: string[],
  first: string,
): { firstTrialMs: number; pieces: number[]; waits: number[] } {
  // A frame's timestamp is taken when the frame begins, before the input events it handles: a
  // screen that changed in answer to a click may carry a timestamp up to a frame before the click's.
  const frameMs = median(frames.t.slice(1).map((t, i) => t - frames.t[i]!));
  const firstShowing = (text: string, after: number) =>
    log.screens.find((s) => s.t >= after - frameMs && s.buttons.includes(text))?.t ?? NaN;
  const pieces = [firstShowing(steps[0]!, 0)];
  for (const [i, step] of steps.entries()) {
    const click = log.clicks.find((c) => c.text === step);
    if (!click) throw new Error(`no click on "${step}" was recorded`);
    pieces.push(Math.max(0, firstShowing(steps[i + 1] ?? first, click.t) - click.t));
  }
  // Every moment a trial's first button became usable after a click that ended the trial before
  // (an answer, a break's Continue), in order; the first is the first trial's.
  const starts: number[] = [];
  const waits: number[] = [];
  for (const [i, s] of log.screens.entries()) {
    if (!s.buttons.includes(first) || (log.screens[i - 1]?.buttons.includes(first) ?? false)) continue;
    if (starts.length === 0) {
      starts.push(s.t);
      continue;
    }
    const ended = log.clicks.filter((c) => c.text !== first && c.t > starts.at(-1)! && c.t <= s.t + frameMs).at(-1);
    // The same trial's button shown again (no answer since): not a new trial.
    if (!ended) continue;
    starts.push(s.t);
    const nextFrame = frames.t.find((f) => f >= ended.t) ?? s.t;
    if (waits.length < TRIALS - 1) waits.push(Math.max(0, s.t - nextFrame));
  }
  return { firstTrialMs: sum(pieces), pieces, waits };
}

const checksums = new Map<string, number>();
async function checksumOf(url: string): Promise<number> {
  let sum = checksums.get(url);
  if (sum === undefined) {
    sum = pixelChecksum(PNG.sync.read(Buffer.from(await (await fetch(url)).arrayBuffer())).data);
    checksums.set(url, sum);
  }
  return sum;
}

async function shownInFull(view: SessionView, frames: FrameLog, paint: PaintLog, base: string): Promise<{ pixels: number; timed: number }> {
  const runs = onScreenRuns(frames);
  const frameMs = median(frames.t.slice(1).map((t, i) => t - frames.t[i]!));
  const n = { pixels: 0, timed: 0 };
  for (const [i, run] of runs.slice(0, TRIALS).entries()) {
    const t = view.trials[i]!;
    const target = t.stimulus_ms ?? view.timing.stimulus_ms;
    const expected = await checksumOf(new URL(t.stimulus, base).href);
    const inRun = paint.stimulus.filter((p) => p.t >= run.onset && p.t < run.offset);
    if (inRun.length !== run.frames || !inRun.every((p) => p.sum === expected)) continue;
    n.pixels++;
    if (Math.round((run.ms - target) / frameMs) === 0) n.timed++;
  }
  return n;
}

async function recordedWaits(dbFile: string, pid: string): Promise<number | null> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const db = new Database(dbFile, { readonly: true });
    const rows = db
      .prepare('SELECT t.data FROM trials t JOIN sessions s ON s.id = t.session_id WHERE s.prolific_pid = ? AND t.trial_index < ?')
      .pluck()
      .all(pid, TRIALS) as string[];
    db.close();
    if (rows.length >= TRIALS || Date.now() > deadline) return rows.reduce((a, r) => a + (JSON.parse(r).timings?.wait_ms ?? 0), 0);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runPage(
  browser: Browser,
  setup: Setup,
  observers: string[],
  side: Side,
  modality: 'image' | 'audio',
  profile: ProfileName,
  round: number,
): Promise<Run> {
  const pid = pidOf(`network ${modality} ${profile} ${round} ${side} ${Date.now()}`);
  const url =
    side === 'participant page'
      ? `${setup.front.url}/run/${STUDY[modality]}?PROLIFIC_PID=${pid}`
      : `${setup.front.url}/baseline/${STUDY[modality]}?pid=${pid}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    for (const content of observers) await context.addInitScript({ content });
    const page = await context.newPage();
    const cdp = await emulateNetwork(page, NETWORK_PROFILES[profile]);
    const bytes = countBytes(cdp);
    // The baseline preloads a quarter of the study before its first trial: minutes on a slow line.
    const timeout = Number(process.env.NETWORK_BENCH_STEP_TIMEOUT_MS ?? 15 * 60_000);
    // Both pages start their session through the same API: the view is read off the wire.
    const started = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/studies\/[^/]+\/sessions$/.test(r.url()), {
      timeout,
    });
    await page.goto(url, { waitUntil: 'commit' });
    const view = (await (await started).json()) as SessionView;
    const steps = STEPS[side][modality];
    for (const text of steps) {
      await waitForScreen(page, text, timeout);
      await page.getByRole('button', { name: text, exact: true }).first().click();
    }
    await waitForScreen(page, FIRST[modality], timeout);
    await page.evaluate((c) => (window as unknown as Observed).__startDriving(c), { trials: TRIALS, answer_after_ms: ANSWER_AFTER_MS });
    await page.waitForFunction(() => (window as unknown as Observed).__drive.done, null, { timeout, polling: 500 });
    const fetched = bytes();
    const { log, frames, paint } = await page.evaluate(() => {
      const w = window as unknown as Observed;
      return { log: w.__load, frames: w.__frames, paint: w.__paint };
    });
    const shown = new Set(
      view.trials
        .slice(0, TRIALS)
        .flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus]))
        .map((u) => new URL(u, setup.front.url).href),
    );
    const stimulusFiles = [...fetched].filter(([u, b]) => new URL(u).pathname.startsWith('/stimuli/') && b > 0);
    const never = stimulusFiles.filter(([u]) => !shown.has(u));
    const { firstTrialMs, pieces, waits } = readLoad(log, frames, steps, FIRST[modality]);
    return {
      side,
      modality,
      profile,
      round,
      firstTrialMs,
      pieces,
      waits,
      bytesFetched: stimulusFiles.reduce((a, [, b]) => a + b, 0),
      bytesNeverShown: never.reduce((a, [, b]) => a + b, 0),
      filesFetched: stimulusFiles.length,
      filesNeverShown: never.length,
      shownInFull: modality === 'image' ? await shownInFull(view, frames, paint, setup.front.url) : null,
      recordedWaitMs: side === 'participant page' ? await recordedWaits(setup.dbFile, pid) : null,
    };
  } catch (e) {
    const text = await context
      .pages()[0]
      ?.locator('body')
      .textContent()
      .catch(() => '(page gone)');
    throw new Error(
      `${side}, ${modality}, ${profile}: ${e instanceof Error ? e.message : String(e)}; the page says: ${text?.slice(0, 400)}`,
    );
  } finally {
    await context.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- report

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** A wait a participant notices: longer than a few frames. */
const NOTICEABLE_MS = 50;

function report(runs: Run[]): void {
  for (const modality of MODALITIES) {
    for (const profile of PROFILES) {
      const mine = runs.filter((r) => r.modality === modality && r.profile === profile);
      if (mine.length === 0) continue;
      console.log(`\n### ${modality}, ${NETWORK_PROFILES[profile].label}\n`);
      console.log(
        `| page | round | navigation → first trial usable (ms) | total wait, trials 2–${TRIALS} (ms) | trials waiting > ${NOTICEABLE_MS} ms | longest wait (ms) | wait_ms recorded (Σ ms) | stimulus bytes fetched (files) | fetched, never shown (files) | own pixels in every frame / and 300 ms to the frame |`,
      );
      console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const r of mine) {
        console.log(
          `| ${r.side} | ${r.round} | ${f0(r.firstTrialMs)} | ${f0(sum(r.waits))} | ${r.waits.filter((w) => w > NOTICEABLE_MS).length} | ${f0(Math.max(0, ...r.waits))} | ${r.recordedWaitMs === null ? '–' : f0(r.recordedWaitMs)} | ${mb(r.bytesFetched)} (${r.filesFetched}) | ${mb(r.bytesNeverShown)} (${r.filesNeverShown}) | ${r.shownInFull === null ? '–' : `${r.shownInFull.pixels} / ${r.shownInFull.timed} of ${TRIALS}`} |`,
        );
      }
      const by = (side: Side, pick: (r: Run) => number) => median(mine.filter((r) => r.side === side).map(pick));
      const ratio = (pick: (r: Run) => number) => f2(by('participant page', pick) / by('jsPsych preload baseline', pick));
      console.log(
        `| **ratio, participant page / baseline** (medians) | | **${ratio((r) => r.firstTrialMs)}** | **${ratio((r) => sum(r.waits))}** | | | | ${ratio((r) => r.bytesFetched)} | ${ratio((r) => r.bytesNeverShown)} | |`,
      );
    }
  }
  const ours = (modality: 'image' | 'audio', profile: ProfileName) =>
    runs.filter((r) => r.side === 'participant page' && r.modality === modality && r.profile === profile);
  const goal = (label: string, xs: number[], limit: number) =>
    xs.length > 0 &&
    console.log(`goal: ${label} ≤ ${limit} ms: ${xs.every((x) => x <= limit) ? 'met' : 'NOT met'} (${xs.map(f0).join(', ')})`);
  console.log('');
  goal(
    'loopback, navigation → first image trial',
    ours('image', 'loopback').map((r) => r.firstTrialMs),
    1000,
  );
  goal(
    '1.6 Mbit/s + 150 ms, navigation → first image trial',
    ours('image', 'slow').map((r) => r.firstTrialMs),
    3000,
  );
  goal(
    `1.6 Mbit/s + 150 ms, total wait over ${TRIALS} image trials`,
    ours('image', 'slow').map((r) => sum(r.waits)),
    2000,
  );
}

async function main(): Promise<void> {
  const started = new Date();
  const setup = await prepare();
  const observers = await Promise.all(
    ['load-observer', 'frame-observer', 'paint-observer', 'trial-driver'].map((p) => bundleBenchPage(`bench/pages/${p}.ts`).then(String)),
  );
  // WebAudio may run without a gesture, as in the audio browser tests: the driver's clicks are programmatic.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--autoplay-policy=no-user-gesture-required'],
  });
  const loadBefore = os.loadavg().map(f2).join(' ');
  console.log(`${started.toISOString()}; Chromium ${browser.version()}; ${os.cpus().length} CPUs, load average before: ${loadBefore}`);
  console.log(`${TRIALS} trials per run, ${ROUNDS} round(s); answers ${ANSWER_AFTER_MS} ms after the choices appear`);
  for (const m of MODALITIES)
    console.log(`${m} set: 400 sources + 16 practice-pool items, ${(setup.stimulusBytes[m]! / 1000).toFixed(1)} KB per file on average`);
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [pi, profile] of PROFILES.entries()) {
        for (const modality of MODALITIES) {
          const order = (round + pi) % 2 === 1 ? SIDES : [...SIDES].reverse();
          for (const side of order) {
            const run = await runPage(browser, setup, observers, side, modality, profile, round);
            runs.push(run);
            process.stderr.write(
              `round ${round}, ${profile}, ${modality}, ${side}: first trial ${f0(run.firstTrialMs)} ms (${run.pieces.map(f0).join(' + ')}), waits ${f0(sum(run.waits))} ms (load ${f2(os.loadavg()[0]!)})\n`,
            );
          }
        }
      }
    }
  } finally {
    await browser.close();
    await setup.front.close();
    await setup.server.kill();
    await fs.rm(setup.dir, { recursive: true, force: true });
  }
  report(runs);
  console.log(`load average after: ${os.loadavg().map(f2).join(' ')}`);
  if (JSON_OUT) await fs.writeFile(JSON_OUT, JSON.stringify({ started, trials: TRIALS, runs }, null, 1));
}

await main();
