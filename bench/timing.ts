/**
 * Presentation timing in Chromium: how long a 300 ms image is really on screen, for the project's
 * frame-locked trial (experiment/image-trial.ts) and, in the same run and measured the same way,
 * for jsPsych's timer-based `stimulus_duration` of image-button-response.
 *
 * Both run in a bench page (bench/pages/timing-page.ts, bundled with esbuild as the participant
 * page is) that starts and answers its trials itself, served by a bare node:http server. What was
 * on screen is recorded by an observer injected before the page's scripts
 * (bench/pages/frame-observer.ts: the stimulus's visibility at every rendered frame). A shorter
 * traced run of each cross-checks the observer against Chrome's own filmstrip (the screenshot the
 * compositor takes of every changed frame, from a DevTools trace).
 *
 *   npm run bench:timing -- [--trials 200] [--blocks 4] [--trace-trials 40] [--flags "--flag-a,--flag-b"] [--json out.json]
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { PNG } from 'pngjs';
import { chromium, type Browser } from 'playwright-core';
import type { TrialRecord } from '../experiment/contract.ts';
import { buildExperimentBundle } from '../server/experiment-bundle.ts';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/support/browser.ts';
import { bundleBenchPage, listenOnLoopback } from './support.ts';
import { beginFrameIntervals, droppedFrames, screenshots, startTrace, type Screenshot } from './chrome-trace.ts';
import { frameIntervals, onScreenRuns, summariseErrors, type ErrorSummary, type FrameLog, type OnScreenRun } from './on-screen-runs.ts';
import { median, quantile } from './order-statistics.ts';
import type { TimingPageConfig } from './pages/timing-page.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const TRIALS = Number(arg('trials', '200'));
const TRACE_TRIALS = Number(arg('trace-trials', '40'));
const BLOCKS = Number(arg('blocks', '4'));
const WARMUP = 3;
const EXTRA_FLAGS = arg('flags', '').split(',').filter(Boolean);
const JSON_OUT = arg('json', '');
const TARGET_MS = 300;
// Blank, fixation and mask are short to save time; only the image's duration is measured.
const TIMING = { blank_ms: 50, fixation_ms: 50, stimulus_ms: TARGET_MS, mask_ms: 100 };
const ACT_AFTER_MS = 40;

/** The flags the project's browser tests use (test/support/browser.ts), plus any given. */
const FLAGS = [...CHROMIUM_FLAGS, ...EXTRA_FLAGS];

type Mode = TimingPageConfig['mode'];

/** 224×224 PNGs: red-dominant images (a few patterns) and a blue noise mask, the colours the filmstrip check looks for. */
function png(fill: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width: 224, height: 224 });
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      const i = (y * 224 + x) * 4;
      const [r, g, b] = fill(x, y);
      p.data[i] = r;
      p.data[i + 1] = g;
      p.data[i + 2] = b;
      p.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(p);
}

function stimulusFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let k = 0; k < 4; k++)
    files.set(
      `/img/${k}.png`,
      png((x, y) => (((x >> (2 + k)) + (y >> (2 + k))) % 2 ? [220, 30, 40] : [170, 20, 30])),
    );
  let seed = 7;
  files.set(
    '/img/mask.png',
    png(() => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return [20, 30, 150 + ((seed >>> 16) % 100)];
    }),
  );
  return files;
}

async function startBenchServer(): Promise<{ url: string; close(): Promise<void> }> {
  const [pageJs, css] = await Promise.all([
    bundleBenchPage('bench/pages/timing-page.ts').then(String),
    buildExperimentBundle().then((b) => b.css.body),
  ]);
  const files = stimulusFiles();
  const images = [...files.keys()].filter((f) => !f.endsWith('mask.png'));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      const config: TimingPageConfig = {
        mode: url.searchParams.get('mode') === 'timer' ? 'timer' : 'frame-locked',
        trials: Number(url.searchParams.get('trials') ?? 10),
        images,
        mask: '/img/mask.png',
        timing: TIMING,
        act_after_ms: ACT_AFTER_MS,
      };
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>timing bench</title><link rel="stylesheet" href="/style.css"></head>
<body><div id="jspsych-target"></div><script type="application/json" id="bench-config">${JSON.stringify(config)}</script><script src="/timing.js"></script></body></html>`);
    }
    const body = url.pathname === '/timing.js' ? pageJs : url.pathname === '/style.css' ? css : files.get(url.pathname);
    if (body === undefined) return void res.writeHead(404).end();
    const type = url.pathname.endsWith('.js') ? 'text/javascript' : url.pathname.endsWith('.css') ? 'text/css' : 'image/png';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' });
    res.end(body);
  });
  return listenOnLoopback(server);
}

interface PageRun {
  runs: OnScreenRun[];
  intervals: number[];
  records: TrialRecord[];
  shots: Screenshot[];
  /** Compositor BeginFrame intervals and frames it reports dropped (traced runs). */
  ticks: number[];
  dropped: number[];
  /** Frames in which the mask was visible. */
  maskFrames: number;
}

/**
 * One page of `WARMUP + trials` trials; the warm-up trials (the page has just loaded: compiling,
 * first garbage collections) are left out of every figure.
 */
async function runPage(browser: Browser, base: string, observer: string, mode: Mode, trials: number, traced: boolean): Promise<PageRun> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript({ content: observer });
    const page = await context.newPage();
    const trace = traced ? await startTrace(page) : null;
    await page.goto(`${base}/?mode=${mode}&trials=${WARMUP + trials}`);
    await page.waitForFunction('window.__bench && window.__bench.done', null, { timeout: 60_000 + trials * 5_000, polling: 500 });
    const log = (await page.evaluate('window.__frames')) as FrameLog;
    const records = (await page.evaluate('window.__bench.records')) as TrialRecord[];
    const events = trace ? await trace.stop() : [];
    const all = onScreenRuns(log);
    if (all.length !== WARMUP + trials) throw new Error(`${mode}: observed ${all.length} image runs for ${WARMUP + trials} trials`);
    const runs = all.slice(WARMUP);
    const first = runs[0]!.onset;
    const last = runs[runs.length - 1]!.offset;
    const shots = screenshots(events);
    // The filmstrip is in the trace's clock: keep the frames from the first measured image on,
    // found as the (WARMUP + 1)-th image run.
    const stripStart = filmstripRuns(shots)[WARMUP]?.startMs ?? Infinity;
    return {
      runs,
      intervals: frameIntervals(log, first, last),
      records: mode === 'frame-locked' ? records.slice(WARMUP) : [],
      shots: shots.filter((s) => s.ms >= stripStart),
      ticks: beginFrameIntervals(events),
      dropped: droppedFrames(events),
      maskFrames: log.state.filter((x, i) => (x & 2) !== 0 && log.t[i]! >= first).length,
    };
  } finally {
    await context.close();
  }
}

interface FilmstripRun {
  startMs: number;
  startSeq: number;
  ms: number;
  /** Ticks of the compositor's frame source between the two frames. */
  ticks: number;
  maskNext: boolean;
}

/** Image runs in the filmstrip: the first frame showing the image to the next frame not showing it. */
function filmstripRuns(shots: Screenshot[]): FilmstripRun[] {
  const out: FilmstripRun[] = [];
  let start: Screenshot | null = null;
  for (const s of shots) {
    if (start && s.shown !== 'image') {
      out.push({ startMs: start.ms, startSeq: start.seq, ms: s.ms - start.ms, ticks: s.seq - start.seq, maskNext: s.shown === 'mask' });
      start = null;
    } else if (!start && s.shown === 'image') start = s;
  }
  return out;
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function merge(parts: PageRun[]): PageRun {
  return {
    runs: parts.flatMap((p) => p.runs),
    intervals: parts.flatMap((p) => p.intervals),
    records: parts.flatMap((p) => p.records),
    shots: parts.flatMap((p) => p.shots),
    ticks: parts.flatMap((p) => p.ticks),
    dropped: parts.flatMap((p) => p.dropped),
    maskFrames: parts.reduce((a, p) => a + p.maskFrames, 0),
  };
}

function row(label: string, s: ErrorSummary, intervals: number[]): string {
  const late = intervals.filter((d) => d > 1.5 * s.frameMs).length;
  return `| ${label} | ${s.n} | ${f2(s.frameMs)} (p95 ${f1(quantile(intervals, 0.95))}; ${((100 * late) / Math.max(1, intervals.length)).toFixed(1)} % late) | ${f1(s.medianMs)} | ${s.medianAbsFrames} | ${f1(s.meanAbsMs)} | ${s.off.join(' / ')} | ${f1(s.minMs)}–${f1(s.maxMs)} |`;
}

const offShare = (s: ErrorSummary) => (s.n - s.off[0]) / Math.max(1, s.n);

async function main(): Promise<void> {
  const observer = String(await bundleBenchPage('bench/pages/frame-observer.ts'));
  const server = await startBenchServer();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const loadBefore = os.loadavg().map(f2).join(' ');
  console.log(`Chromium ${browser.version()}, flags: ${FLAGS.join(' ')}`);
  console.log(`${os.cpus().length} CPUs, load average before: ${loadBefore}`);
  console.log(
    `${TRIALS} trials per mode in ${BLOCKS} alternating pages (+${WARMUP} warm-up trials each), then ${TRACE_TRIALS} traced; image ${TARGET_MS} ms\n`,
  );
  const parts: Record<Mode, PageRun[]> = { 'frame-locked': [], timer: [] };
  const traced: Partial<Record<Mode, PageRun>> = {};
  try {
    for (let b = 0; b < BLOCKS; b++) {
      const n = Math.round((TRIALS * (b + 1)) / BLOCKS) - Math.round((TRIALS * b) / BLOCKS);
      // Alternating pages share the machine's load as evenly as a busy machine allows.
      for (const mode of b % 2 ? (['timer', 'frame-locked'] as const) : (['frame-locked', 'timer'] as const)) {
        parts[mode].push(await runPage(browser, server.url, observer, mode, n, false));
        process.stdout.write(`${mode} page ${b + 1}/${BLOCKS} done (load ${f2(os.loadavg()[0]!)})\n`);
      }
    }
    if (TRACE_TRIALS > 0) {
      for (const mode of ['frame-locked', 'timer'] as const)
        traced[mode] = await runPage(browser, server.url, observer, mode, TRACE_TRIALS, true);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const loadAfter = os.loadavg().map(f2).join(' ');
  const results = { 'frame-locked': merge(parts['frame-locked']), timer: merge(parts.timer) };

  console.log(`\nOn-screen time of a ${TARGET_MS} ms image, frame observer (error counted in whole frames of the median interval)\n`);
  console.log(
    '| trials | n | frame interval ms | median on-screen ms | median abs error (frames) | mean abs error ms | off by 0 / 1 / 2 / >2 frames | range ms |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const summaries: Record<string, ErrorSummary> = {};
  for (const mode of ['frame-locked', 'timer'] as const) {
    const r = results[mode];
    const frameMs = median(r.intervals);
    const all = summariseErrors(
      r.runs.map((x) => x.ms),
      TARGET_MS,
      frameMs,
    );
    const clean = summariseErrors(
      r.runs.filter((x) => x.maxGap < 1.5 * frameMs).map((x) => x.ms),
      TARGET_MS,
      frameMs,
    );
    summaries[mode] = all;
    summaries[`${mode} clean`] = clean;
    console.log(row(`${mode}, all`, all, r.intervals));
    console.log(row(`${mode}, no late frame`, clean, r.intervals));
  }
  const ours = summaries['frame-locked']!;
  const timer = summaries.timer!;
  const oursClean = summaries['frame-locked clean']!;
  const timerClean = summaries['timer clean']!;
  console.log(
    `\nratio frame-locked / timer, all trials: mean abs error ${f2(ours.meanAbsMs / timer.meanAbsMs)}; share off by ≥ 1 frame ${(100 * offShare(ours)).toFixed(1)} % vs ${(100 * offShare(timer)).toFixed(1)} % (${f2(offShare(ours) / Math.max(1e-9, offShare(timer)))})`,
  );
  console.log(
    `ratio frame-locked / timer, trials without a late frame: mean abs error ${f2(oursClean.meanAbsMs / Math.max(1e-9, timerClean.meanAbsMs))}; share off by ≥ 1 frame ${(100 * offShare(oursClean)).toFixed(1)} % vs ${(100 * offShare(timerClean)).toFixed(1)} %`,
  );
  console.log(
    `goal (frame-locked, all trials): median abs error ≤ 1 frame: ${ours.medianAbsFrames <= 1 ? 'met' : 'NOT met'}; no trial off by > 2 frames: ${ours.off[3] === 0 ? 'met' : `NOT met (${ours.off[3]} trials)`}`,
  );

  const fl = results['frame-locked'];
  const self = fl.records.map((r) => (r.timings?.stimulus_offset ?? NaN) - (r.timings?.stimulus_onset ?? NaN));
  if (self.length === fl.runs.length) {
    const diff = fl.runs.map((r, i) => r.ms - self[i]!);
    console.log(
      `\nframe-locked, the trial's own record (stimulus_offset − stimulus_onset) − observer: median ${f1(median(diff))} ms, max |diff| ${f1(Math.max(...diff.map(Math.abs)))} ms`,
    );
    const frameMs = median(fl.intervals);
    for (const [i, r] of fl.runs.entries()) {
      if (Math.abs(Math.round((r.ms - TARGET_MS) / frameMs)) < 2) continue;
      console.log(
        `  off by ≥ 2 frames: ${f1(r.ms)} ms on screen, ${r.frames} frames rendered, longest frame gap ${f1(r.maxGap)} ms, the sequence's frame estimate ${f1(fl.records[i]?.timings?.frame_ms ?? NaN)} ms`,
      );
    }
  } else console.log(`\nframe-locked: ${self.length} records vs ${fl.runs.length} observed runs (not paired)`);
  console.log(
    `frame-locked: the mask was visible in the frame after the image in ${fl.runs.filter((x) => x.maskNext).length} of ${fl.runs.length} trials; frames with the mask visible at all: ${fl.maskFrames}`,
  );

  for (const mode of ['frame-locked', 'timer'] as const) {
    const r = traced[mode];
    if (!r) continue;
    const strip = filmstripRuns(r.shots);
    const tickMs = median(r.ticks);
    const s = summariseErrors(
      strip.map((x) => x.ms),
      TARGET_MS,
      tickMs,
    );
    const byTicks = strip.map((x) => x.ticks);
    const o = summariseErrors(
      r.runs.map((x) => x.ms),
      TARGET_MS,
      median(r.intervals),
    );
    console.log(
      `\n${mode}, traced page (${TRACE_TRIALS} trials): compositor BeginFrame interval median ${f2(tickMs)} ms; ${r.dropped.length} frames reported dropped`,
    );
    console.log(`  observer:  median ${f1(o.medianMs)} ms, off by 0/1/2/>2 frames: ${o.off.join(' / ')}`);
    console.log(
      `  filmstrip: ${strip.length} image runs, median ${f1(s.medianMs)} ms, off by 0/1/2/>2 frames: ${s.off.join(' / ')}, range ${f1(s.minMs)}–${f1(s.maxMs)}; frame-source ticks on screen: ${[
        ...new Set(byTicks),
      ]
        .sort((a, b) => a - b)
        .map((k) => `${k}×${byTicks.filter((x) => x === k).length}`)
        .join(', ')}; mask in the next frame: ${strip.filter((x) => x.maskNext).length}/${strip.length}`,
    );
    if (strip.length === r.runs.length) {
      const diff = strip.map((x, i) => x.ms - r.runs[i]!.ms);
      console.log(
        `  filmstrip − observer, per trial: same within half a frame in ${diff.filter((d) => Math.abs(d) < tickMs / 2).length}/${diff.length}, range ${f1(Math.min(...diff))}…${f1(Math.max(...diff))} ms`,
      );
      // Shorter on the filmstrip: was a frame dropped just before the image's first drawn frame?
      const dropped = new Set(r.dropped);
      const droppedBefore = (seq: number) => [1, 2, 3, 4].some((k) => dropped.has(seq - k));
      const shorter = strip.filter((_, i) => diff[i]! <= -tickMs / 2);
      const rest = strip.filter((_, i) => diff[i]! > -tickMs / 2);
      console.log(
        `  shorter on the filmstrip: ${shorter.length}; of these ${shorter.filter((x) => droppedBefore(x.startSeq)).length} had a dropped frame in the 4 ticks before the image's first drawn frame (other trials: ${rest.filter((x) => droppedBefore(x.startSeq)).length}/${rest.length})`,
      );
    }
  }
  console.log(`\nload average after: ${loadAfter}`);
  if (JSON_OUT) {
    await fs.writeFile(JSON_OUT, JSON.stringify({ flags: FLAGS, load: [loadBefore, loadAfter], summaries, results, traced }));
  }
}

await main();
