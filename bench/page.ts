/**
 * The participant page: its JavaScript size and how long Chromium on localhost keeps a participant
 * waiting before the first trial, each against a baseline measured in the same run.
 *
 * Size: the page's script as the server sends it, and gzipped, against a plain jsPsych 8 page with
 * seven official plugins bundled with the same esbuild settings (bench/pages/seven-plugins.ts).
 *
 * Time (fresh browser context for every navigation, so nothing is cached): an observer injected
 * before the page's scripts (bench/pages/load-observer.ts) records at every rendered frame which
 * buttons can be used, and every click. The participant's own time (reading, clicking) is not the
 * page's, so the page's time is counted in pieces:
 * - load: navigation start → the first frame showing the consent button (the screen is usable);
 * - after each pre-trial click, the click → the first frame showing the next usable button, up to
 *   the first trial's Start button; the last one (instructions' Begin → Start) is the first block's
 *   download and decoding.
 * The baseline is a hello-world jsPsych page on a bare node:http server (bench/pages/hello-page.ts):
 * its greeting's button, then the same files preloaded and an image trial, measured the same way.
 *
 *   npm run bench:page -- [--runs 12]
 */
import http from 'node:http';
import os from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { SessionView } from '../experiment/contract.ts';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/support/browser.ts';
import { bundleBenchPage, listenOnLoopback } from './support.ts';
import type { LoadLog } from './pages/load-observer.ts';
import { PAPER_IMAGE_CATEGORIES } from '../test/fixtures/stimulus-sets.ts';
import { pidOf, postJson, startTestServer, type TestServer } from '../test/support/test-server.ts';
import { median, quantile } from './order-statistics.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const RUNS = Number(arg('runs', '12'));
/** Same flags as the project's browser tests (test/support/browser.ts). */
const FLAGS = [...CHROMIUM_FLAGS];
// The paper's 16 categories, so the first trial has as many buttons as a real one.
const CATEGORIES = PAPER_IMAGE_CATEGORIES;

// Every navigation starts a session; the bench is one address starting many.
process.env.METAMER_SESSION_STARTS_PER_MINUTE = '100000';

const gz = (b: Buffer) => gzipSync(b).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

interface Served {
  url: string;
  bytes: number;
  encoding: string;
}

/** The participant page's script as served: found through the page's own <script src>. */
async function servedScript(server: TestServer): Promise<Served & { body: Buffer }> {
  const html = await (await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf('bench-size')}`)).text();
  const src = /<script src="([^"]+)"/.exec(html)?.[1];
  if (!src) throw new Error('the participant page has no <script src>');
  // node:http rather than fetch: fetch would undo a content-encoding, and the bytes on the wire are the point.
  const { wire, encoding } = await new Promise<{ wire: Buffer; encoding: string }>((resolve, reject) => {
    http
      .get(new URL(src, server.url), { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ wire: Buffer.concat(chunks), encoding: String(res.headers['content-encoding'] ?? 'none') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  if (encoding !== 'none' && encoding !== 'gzip') throw new Error(`the script came ${encoding}-encoded: decode it here`);
  // `bytes` is what travels; `body` the decoded script (its gzip size is recomputed the same way for both pages).
  return { url: src, bytes: wire.length, encoding, body: encoding === 'gzip' ? gunzipSync(wire) : wire };
}

/** The files of the participant's first block (the practice trials), fetched from the real server. */
async function firstBlockFiles(server: TestServer): Promise<Map<string, Buffer>> {
  const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf('bench-files') });
  if (r.status !== 200 && r.status !== 201) throw new Error(`session start: ${r.status} ${JSON.stringify(r.body)}`);
  const view = r.body as SessionView;
  const practice = view.trials.filter((t) => t.phase === 'practice');
  const urls = [...new Set(practice.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])))];
  const files = new Map<string, Buffer>();
  for (const u of urls) files.set(new URL(u, server.url).pathname, Buffer.from(await (await fetch(new URL(u, server.url))).arrayBuffer()));
  return files;
}

async function startHelloServer(js: Buffer, css: Buffer, files: Map<string, Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const config = JSON.stringify({ files: [...files.keys()], choices: CATEGORIES });
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hello</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<div id="jspsych-target"></div>
<script type="application/json" id="hello-config">${config}</script>
<script src="/hello.js" defer></script>
</body>
</html>
`;
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const body = p === '/' ? html : p === '/hello.js' ? js : p === '/style.css' ? css : files.get(p);
    if (body === undefined) return void res.writeHead(404).end();
    const type =
      p === '/' ? 'text/html; charset=utf-8' : p.endsWith('.js') ? 'text/javascript' : p.endsWith('.css') ? 'text/css' : 'image/png';
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  const local = await listenOnLoopback(server);
  return { ...local, url: `${local.url}/` };
}

type Observed = Window & { __load: LoadLog };

/**
 * Waits (in Node) until a frame has shown a usable button with this text. Predicates are
 * functions, not strings: the participant page's CSP forbids evaluating strings.
 */
async function waitForScreen(page: Page, text: string): Promise<void> {
  await page.waitForFunction((t) => (window as unknown as Observed).__load.screens.some((s) => s.buttons.includes(t)), text, {
    timeout: 60_000,
    polling: 50,
  });
}

interface Timings {
  /** Navigation start → first frame with the first button. */
  load: number;
  /** Click → first frame with the next button, per pre-trial click, in order. */
  afterClicks: number[];
  /** From the Navigation and Resource Timing APIs, for the reading (NaN where absent). */
  responseEnd: number;
  scriptStart: number;
  scriptEnd: number;
  domContentLoaded: number;
  sessionStart: number;
  sessionEnd: number;
}

type PageClock = Omit<Timings, 'load' | 'afterClicks'>;

function readTimings(log: LoadLog, steps: string[], nav: PageClock): Timings {
  const firstShowing = (text: string, after: number) => log.screens.find((s) => s.t >= after && s.buttons.includes(text))?.t ?? NaN;
  const load = firstShowing(steps[0]!, 0);
  const afterClicks: number[] = [];
  for (let i = 0; i + 1 < steps.length; i++) {
    const click = log.clicks.find((c) => c.text === steps[i]);
    if (!click) throw new Error(`no click on "${steps[i]}" was recorded`);
    afterClicks.push(firstShowing(steps[i + 1]!, click.t) - click.t);
  }
  return { load, afterClicks, ...nav };
}

/**
 * One navigation in a fresh context: clicks through `steps` (button texts, in order) as soon as
 * each is usable, and stops once the last is shown.
 */
async function navigate(browser: Browser, observer: string, url: string, steps: string[]): Promise<Timings> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript({ content: observer });
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    for (const [i, text] of steps.entries()) {
      await waitForScreen(page, text);
      if (i + 1 < steps.length) await page.getByRole('button', { name: text, exact: true }).first().click();
    }
    const log = await page.evaluate(() => (window as unknown as Observed).__load);
    const nav: PageClock = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const script = resources.find((r) => r.initiatorType === 'script');
      const session = resources.find((r) => /\/api\/studies\/[^/]+\/sessions$/.test(new URL(r.name).pathname));
      return {
        responseEnd: n.responseEnd,
        scriptStart: script?.startTime ?? NaN,
        scriptEnd: script?.responseEnd ?? NaN,
        domContentLoaded: n.domContentLoadedEventEnd,
        sessionStart: session?.startTime ?? NaN,
        sessionEnd: session?.responseEnd ?? NaN,
      };
    });
    return readTimings(log, steps, nav);
  } finally {
    await context.close();
  }
}

const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);

/** Median (p10–p90); a navigation that never reached a step (no time) is left out and counted. */
function spread(all: number[]): string {
  const xs = all.filter(Number.isFinite);
  const missing = all.length - xs.length;
  return `${f0(median(xs))} (${f0(quantile(xs, 0.1))}–${f0(quantile(xs, 0.9))})${missing ? `, ${missing} of ${all.length} without this step` : ''}`;
}

async function main(): Promise<void> {
  const server = await startTestServer({
    set: { size: 224, categories: CATEGORIES, practicePerCategory: 2, sourcesPerCategory: 2 },
    // The paper's protocol and timing (the study config's image defaults).
    study: { protocol: {}, timing: {} },
  });
  const [ours, seven, hello, observer] = await Promise.all([
    servedScript(server),
    bundleBenchPage('bench/pages/seven-plugins.ts'),
    bundleBenchPage('bench/pages/hello-page.ts'),
    bundleBenchPage('bench/pages/load-observer.ts').then((b) => b.toString('utf8')),
  ]);
  const files = await firstBlockFiles(server);
  const helloServer = await startHelloServer(hello, server.bundle.css.body, files);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const loadBefore = os.loadavg().map(f2).join(' ');

  console.log(`Chromium ${browser.version()}; ${os.cpus().length} CPUs, load average before: ${loadBefore}\n`);
  console.log('## JavaScript size\n');
  console.log('| script | bytes | gzip (zlib level 6) | gzip ratio to baseline |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| jsPsych 8 + 7 official plugins, same esbuild settings (baseline) | ${kb(seven.length)} | ${kb(gz(seven))} | 1.00 |`);
  console.log(
    `| participant page \`${ours.url}\` | ${kb(ours.body.length)} | ${kb(gz(ours.body))} | **${f2(gz(ours.body) / gz(seven))}** |`,
  );
  console.log(`| hello-world page (load-time baseline) | ${kb(hello.length)} | ${kb(gz(hello))} | ${f2(gz(hello) / gz(seven))} |`);
  console.log(
    `\nThe participant page's script is served with content-encoding: ${ours.encoding} (${kb(ours.bytes)} on the wire); stylesheet ${kb(server.bundle.css.body.length)}, gzip ${kb(gz(server.bundle.css.body))}.`,
  );
  console.log(`First block: ${files.size} files, ${kb([...files.values()].reduce((a, b) => a + b.length, 0))}.\n`);

  const OURS_STEPS = ['I agree, continue', 'Switch to full screen', 'Begin', 'Start trial'];
  const HELLO_STEPS = ['Begin', CATEGORIES[0]!];
  const oursRuns: Timings[] = [];
  const helloRuns: Timings[] = [];
  try {
    // One unmeasured navigation of each warms the server's and the browser's code paths.
    await navigate(browser, observer, `${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf('bench-warm')}`, OURS_STEPS);
    await navigate(browser, observer, helloServer.url, HELLO_STEPS);
    for (let i = 0; i < RUNS; i++) {
      // Alternating, so that both see the same share of the machine's load.
      oursRuns.push(
        await navigate(browser, observer, `${server.url}/run/fixture-study?PROLIFIC_PID=${pidOf(`bench-${Date.now()}-${i}`)}`, OURS_STEPS),
      );
      helloRuns.push(await navigate(browser, observer, helloServer.url, HELLO_STEPS));
    }
  } finally {
    await browser.close();
    await helloServer.close();
    await server.dispose();
  }
  const loadAfter = os.loadavg().map(f2).join(' ');

  const col = (runs: Timings[], pick: (t: Timings) => number) => runs.map(pick);
  const load = col(oursRuns, (t) => t.load);
  const firstBlock = col(oursRuns, (t) => t.afterClicks[2]!);
  const sum = col(oursRuns, (t) => t.load + t.afterClicks[2]!);
  const allWaits = col(oursRuns, (t) => t.load + t.afterClicks.reduce((a, b) => a + b, 0));
  const hLoad = col(helloRuns, (t) => t.load);
  const hBlock = col(helloRuns, (t) => t.afterClicks[0]!);
  const hSum = col(helloRuns, (t) => t.load + t.afterClicks[0]!);
  const ratio = (a: number[], b: number[]) => f2(median(a) / median(b));

  console.log(
    `## Time to the first trial (ms, median (p10–p90) of ${RUNS} navigations each, alternating, fresh context each; ${new Date().toISOString().slice(0, 10)}, load ${loadAfter})\n`,
  );
  console.log(
    'baseline: a hello-world jsPsych page on bare node:http (bench/pages/hello-page.ts): a greeting with one button, then the same',
  );
  console.log(
    'files preloaded and an image-button-response trial with the same buttons, the same stylesheet; it does NOT start a session (no POST),',
  );
  console.log('ask consent, run the browser check or full screen, keep a saving queue, or prefetch with retries.\n');
  console.log('| interval | participant page | hello-world baseline | **ratio** |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| navigation start → first button usable (consent / greeting) | ${spread(load)} | ${spread(hLoad)} | **${ratio(load, hLoad)}** |`,
  );
  console.log(
    `| last pre-trial click → first trial usable (Begin → Start trial / image trial) | ${spread(firstBlock)} | ${spread(hBlock)} | **${ratio(firstBlock, hBlock)}** |`,
  );
  console.log(`| sum of the two | ${spread(sum)} | ${spread(hSum)} | **${ratio(sum, hSum)}** |`);
  console.log(`| consent click → full-screen button | ${spread(col(oursRuns, (t) => t.afterClicks[0]!))} | – | |`);
  console.log(`| full-screen click → instructions' Begin | ${spread(col(oursRuns, (t) => t.afterClicks[1]!))} | – | |`);
  console.log(
    `| all the page's waits (load + every click → next button) | ${spread(allWaits)} | ${spread(hSum)} | ${ratio(allWaits, hSum)} |`,
  );
  console.log('\nWhere the load goes (ms from navigation start, medians):\n');
  console.log(
    '| page | HTML received | script requested → received | DOMContentLoaded (script run) | session POST sent → answered | first button usable |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, runs] of [
    ['participant page', oursRuns],
    ['hello-world baseline', helloRuns],
  ] as const) {
    const m = (pick: (t: Timings) => number) => f0(median(col(runs, pick)));
    console.log(
      `| ${name} | ${m((t) => t.responseEnd)} | ${m((t) => t.scriptStart)} → ${m((t) => t.scriptEnd)} | ${m((t) => t.domContentLoaded)} | ${runs === oursRuns ? `${m((t) => t.sessionStart)} → ${m((t) => t.sessionEnd)}` : '–'} | ${m((t) => t.load)} |`,
    );
  }
  const goalSize = gz(ours.body) <= 60 * 1024;
  const goalTime = median(sum) <= 1000;
  console.log(`goals: ≤ 60 KB gzip: ${goalSize ? 'met' : 'NOT met'}; load + first block ≤ 1 s: ${goalTime ? 'met' : 'NOT met'}`);
  console.log(`load average after: ${loadAfter}`);
}

await main();
