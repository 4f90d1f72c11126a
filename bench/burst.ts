/**
 * `npm run bench:burst`: a Prolific launch. 500 simulated participants arrive within 60 s (Poisson),
 * each behind its own address (X-Forwarded-For through a trusted proxy, as behind nginx), starts a
 * session, fetches its stimuli four at a time as the page's prefetcher does, then answers every
 * trial of the paper's image protocol (16 practice, 12 screening, 400 main + 16 catch) at ten times
 * a real participant's pace, asks the screening gate and completes. Reported: errors, lost rows
 * (acknowledged trials missing from the database), completions, latency percentiles; the baseline
 * ratio is the same trial POSTs' latency against a bare node:http + SQLite insert server measured
 * in the same run with the same arrival pattern.
 */
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { mulberry32 } from '../stimuli/random.ts';
import { makeBenchStudy, trialBody } from './study-fixture.ts';
import { freePort, loadAverage, percentile, ROOT, startProcess, stop, tempDir, waitForHttp } from './support.ts';

const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 500);
const ARRIVAL_SECONDS = Number(process.env.BENCH_ARRIVAL_SECONDS ?? 60);
/** A real trial takes about 3 s (start, 1.4 s of presentation, the answer): ten times faster. */
const TRIAL_MS = Number(process.env.BENCH_TRIAL_MS ?? 300);

export interface Stats {
  latencies: number[];
  errors: Map<string, number>;
  acked: Map<string, number>;
  completed: number;
  stimulusGets: number;
}

function request(agent: http.Agent, port: number, method: string, p: string, body: string | null, ip: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'X-Forwarded-For': ip };
    if (body !== null) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: method === 'GET' ? '' : Buffer.concat(chunks).toString() }));
    });
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(body ?? undefined);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface View {
  session: string;
  choices: string[];
  trials: { index: number; stimulus: string; mask?: string }[];
  screening_last_index: number | null;
}

/** The baseline server only inserts: its participants post the same trials with no session around them. */
function baselineView(i: number): View {
  return { session: `baseline${i}`, choices: ['bear'], trials: Array.from({ length: 444 }, (_, index) => ({ index, stimulus: '' })), screening_last_index: null };
}

async function participant(i: number, port: number, agent: http.Agent, stats: Stats, baseline: boolean): Promise<void> {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const fail = (what: string): void => {
    stats.errors.set(what, (stats.errors.get(what) ?? 0) + 1);
  };
  let view: View;
  if (baseline) view = baselineView(i);
  else {
    const start = await request(agent, port, 'POST', '/api/studies/bench/sessions', JSON.stringify({ prolific_pid: String(i).padStart(24, '0') }), ip);
    if (start.status !== 200) return fail(`start ${start.status} ${start.text.slice(0, 80)}`);
    view = JSON.parse(start.text) as View;
  }
  const files = baseline ? [] : [...new Set(view.trials.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])))];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < files.length) {
        const f = files[next++]!;
        const r = await request(agent, port, 'GET', f, null, ip);
        stats.stimulusGets++;
        if (r.status !== 200) fail(`stimulus ${r.status}`);
      }
    }),
  );
  const rng = mulberry32(i + 1);
  let acked = 0;
  for (const t of view.trials) {
    await sleep(TRIAL_MS * (0.5 + rng()));
    const body = trialBody(t.index, view.choices[Math.floor(rng() * view.choices.length)]!);
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      const r = await request(agent, port, 'POST', `/api/sessions/${view.session}/trials`, body, ip);
      stats.latencies.push(performance.now() - t0);
      if (r.status === 200) {
        acked++;
        break;
      }
      fail(`trial ${r.status}`);
      if (attempt >= 5) return;
      await sleep(500);
    }
    if (t.index === view.screening_last_index) {
      const g = await request(agent, port, 'POST', `/api/sessions/${view.session}/gates/screening`, '{}', ip);
      if (g.status !== 200 || !JSON.parse(g.text).passed) return fail(`gate ${g.status} ${g.text.slice(0, 80)}`);
    }
  }
  stats.acked.set(view.session, acked);
  if (baseline) return void stats.completed++;
  const done = await request(agent, port, 'POST', `/api/sessions/${view.session}/complete`, '{}', ip);
  if (done.status === 200) stats.completed++;
  else fail(`complete ${done.status} ${done.text.slice(0, 80)}`);
}

function newStats(): Stats {
  return { latencies: [], errors: new Map(), acked: new Map(), completed: 0, stimulusGets: 0 };
}

/** Runs the arrivals (the same Poisson schedule for both servers) and waits for every participant. */
export async function launch(port: number, baseline: boolean): Promise<{ stats: Stats; seconds: number }> {
  const stats = newStats();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const rng = mulberry32(42);
  const arrivals: number[] = [];
  let arrival = 0;
  for (let i = 0; i < PARTICIPANTS; i++) {
    arrival += -Math.log(1 - rng());
    arrivals.push(arrival);
  }
  // Scaled so that the last participant arrives at ARRIVAL_SECONDS.
  const scale = (ARRIVAL_SECONDS * 1000) / arrival;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  const progress = setInterval(() => process.stderr.write(`  ${baseline ? 'baseline' : 'metamer'} ${((performance.now() - t0) / 1000).toFixed(0)} s: ${stats.latencies.length} trial POSTs, ${stats.completed} completed\n`), 15_000);
  for (let i = 0; i < PARTICIPANTS; i++) {
    const wait = arrivals[i]! * scale - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    running.push(participant(i, port, agent, stats, baseline));
  }
  await Promise.all(running);
  clearInterval(progress);
  agent.destroy();
  return { stats, seconds: (performance.now() - t0) / 1000 };
}

export function latencyLine(latencies: number[]): { text: string; p50: number; p99: number } {
  const sorted = Float64Array.from(latencies).sort();
  const [p50, p90, p99, p999, max] = [50, 90, 99, 99.9, 100].map((p) => percentile(sorted, p)) as [number, number, number, number, number];
  return { text: `p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)}, p99 ${p99.toFixed(2)}, p99.9 ${p999.toFixed(1)}, max ${max.toFixed(1)}`, p50, p99 };
}

async function main(): Promise<void> {
  const dir = await tempDir('burst');
  // Screening passes whatever the simulated answers: this measures load, not the gate's rule.
  // Participants here go at ten times the real pace, so the study's display times are a tenth of
  // the paper's: the server's pacing check (server/pacing.ts) then holds them to that pace, as it
  // holds real participants to theirs, and an honest simulated participant never meets it.
  const { dbFile } = await makeBenchStudy(dir, { screening_min_correct: 0 }, { blank_ms: 50, fixation_ms: 30, stimulus_ms: 30, practice_stimulus_ms: 40, mask_ms: 30 });

  const basePort = await freePort();
  const baseline = startProcess(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/baseline-ingest-server.ts'), path.join(dir, 'baseline.db'), String(basePort)]);
  await waitForHttp(`http://127.0.0.1:${basePort}/`, baseline);
  const base = await launch(basePort, true);
  await stop(baseline);

  const port = await freePort();
  const server = startProcess(process.execPath, [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)], {
    LOG_LEVEL: 'warn',
    METAMER_TRUST_PROXY: 'loopback',
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
  const { stats, seconds } = await launch(port, false);
  await stop(server);

  const db = new Database(dbFile, { readonly: true });
  const integrity = db.pragma('integrity_check', { simple: true });
  let lost = 0;
  const count = db.prepare('SELECT count(*) AS n FROM trials WHERE session_id = ?').pluck();
  for (const [session, acked] of stats.acked) lost += Math.max(0, acked - (count.get(session) as number));
  const states = db.prepare('SELECT state, count(*) AS n FROM sessions GROUP BY state').all();
  db.close();
  await fs.rm(dir, { recursive: true, force: true });

  const errors = [...stats.errors].map(([k, v]) => `${v}× ${k}`).join('; ') || '0';
  const ours = latencyLine(stats.latencies);
  const theirs = latencyLine(base.stats.latencies);
  console.log(`launch burst: ${PARTICIPANTS} participants arriving within ${ARRIVAL_SECONDS} s (Poisson), 444 trials each at ~${TRIAL_MS} ms per trial (10× real pace), one server process`);
  console.log(`  wall time ${seconds.toFixed(0)} s; ${stats.latencies.length} trial POSTs, ${stats.stimulusGets} stimulus GETs`);
  console.log(`  completed: ${stats.completed} / ${PARTICIPANTS}; sessions by state: ${JSON.stringify(states)}`);
  console.log(`  errors: ${errors}`);
  console.log(`  lost rows (acknowledged, not in the database): ${lost}; integrity_check: ${integrity}`);
  console.log(`  trial POST latency, metamer:  ${ours.text}`);
  console.log(`  trial POST latency, baseline: ${theirs.text} (bare node:http + insert, same arrivals and pace, no sessions or stimuli)`);
  console.log(`  ratio metamer / baseline: p50 ${(ours.p50 / theirs.p50).toFixed(2)}×, p99 ${(ours.p99 / theirs.p99).toFixed(2)}×`);
  console.log(`  load average: ${loadAverage()}`);
}

// Run as a script; bench/burst-instances.ts imports launch() without running this one.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
