/**
 * `npm run bench:burst`: a Prolific launch. Participants (500) arrive within 60 s (Poisson), each
 * behind its own address (X-Forwarded-For through a trusted proxy, as behind nginx), start a
 * session, fetch their stimuli four at a time as the page's prefetcher does, answer every trial of
 * the paper's image protocol (16 practice, 12 screening, 400 main + 16 catch) at ten times a real
 * participant's pace, ask the screening gate and complete. Reported: errors, lost rows
 * (acknowledged trials missing from the database), completions, trial POST latency percentiles.
 *
 * The baseline (bench/baseline-ingest-server.ts) gets the same participants doing the same
 * exchanges, from the same client code: session start, every stimulus file, every trial POST, the
 * gate, completion; it stores the same rows with the same WAL checkpoint worker, and skips only the
 * platform's own logic (listed in its header). Rounds alternate baseline and platform in one run,
 * each on a fresh copy of the data.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs/promises';
import Database from 'better-sqlite3';
import { mulberry32 } from '../stimuli/random.ts';
import { makeBenchStudy, trialBody } from './study-fixture.ts';
import { freePort, loadAverage, percentile, ROOT, startBenchScript, startProcess, stop, tempDir, waitForHttp } from './support.ts';

const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 500);
const ARRIVAL_SECONDS = Number(process.env.BENCH_ARRIVAL_SECONDS ?? 60);
/** A real trial takes about 3 s (start, 1.4 s of presentation, the answer): ten times faster. */
const TRIAL_MS = Number(process.env.BENCH_TRIAL_MS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

export interface BurstOptions {
  participants: number;
  arrivalSeconds: number;
  /** Mean time per trial (jittered ±50 %). */
  trialMs: number;
  /** The study every participant starts. */
  studyId: string;
  /** Hex prefix of the simulated Prolific IDs (24 hex digits in all; distinct per launch against the same database). */
  pidPrefix: string;
  /** Stimulus GETs in flight per participant (the page's prefetcher: 4). */
  fetchConcurrency: number;
}

export interface Stats {
  latencies: number[];
  errors: Map<string, number>;
  acked: Map<string, number>;
  completed: number;
  stimulusGets: number;
}

function request(
  agent: http.Agent,
  base: URL,
  method: string,
  p: string,
  body: string | null,
  ip: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'X-Forwarded-For': ip };
    if (body !== null) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    const req = http.request({ host: base.hostname, port: base.port, method, path: p, agent, headers }, (res) => {
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

/** One participant, from session start to completion; what the server acknowledged goes into `stats`. */
export async function participant(i: number, base: URL, agent: http.Agent, stats: Stats, o: BurstOptions): Promise<void> {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const fail = (what: string): void => {
    stats.errors.set(what, (stats.errors.get(what) ?? 0) + 1);
  };
  // Prolific's format: 24 hexadecimal digits.
  const pid = `${o.pidPrefix}${String(i).padStart(24 - o.pidPrefix.length, '0')}`;
  const start = await request(agent, base, 'POST', `/api/studies/${o.studyId}/sessions`, JSON.stringify({ prolific_pid: pid }), ip);
  if (start.status !== 200) return fail(`start ${start.status} ${start.text.slice(0, 80)}`);
  const view = JSON.parse(start.text) as View;
  const files = [...new Set(view.trials.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])))];
  let next = 0;
  await Promise.all(
    Array.from({ length: o.fetchConcurrency }, async () => {
      while (next < files.length) {
        const f = files[next++]!;
        const r = await request(agent, base, 'GET', f, null, ip);
        stats.stimulusGets++;
        if (r.status !== 200) fail(`stimulus ${r.status}`);
      }
    }),
  );
  const rng = mulberry32(i + 1);
  let acked = 0;
  for (const t of view.trials) {
    await sleep(o.trialMs * (0.5 + rng()));
    const body = trialBody(t.index, view.choices[Math.floor(rng() * view.choices.length)]!);
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      const r = await request(agent, base, 'POST', `/api/sessions/${view.session}/trials`, body, ip);
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
      const g = await request(agent, base, 'POST', `/api/sessions/${view.session}/gates/screening`, '{}', ip);
      if (g.status !== 200 || !JSON.parse(g.text).passed) return fail(`gate ${g.status} ${g.text.slice(0, 80)}`);
    }
  }
  stats.acked.set(view.session, acked);
  const done = await request(agent, base, 'POST', `/api/sessions/${view.session}/complete`, '{}', ip);
  if (done.status === 200) stats.completed++;
  else fail(`complete ${done.status} ${done.text.slice(0, 80)}`);
}

export function newStats(): Stats {
  return { latencies: [], errors: new Map(), acked: new Map(), completed: 0, stimulusGets: 0 };
}

/** Runs the arrivals (the same Poisson schedule for every server) against `baseUrl` and waits for every participant. */
export async function launch(baseUrl: string, o: BurstOptions, label = baseUrl): Promise<{ stats: Stats; seconds: number }> {
  const base = new URL(baseUrl);
  const stats = newStats();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const rng = mulberry32(42);
  const arrivals: number[] = [];
  let arrival = 0;
  for (let i = 0; i < o.participants; i++) {
    arrival += -Math.log(1 - rng());
    arrivals.push(arrival);
  }
  // Scaled so that the last participant arrives at arrivalSeconds.
  const scale = (o.arrivalSeconds * 1000) / arrival;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  const progress = setInterval(
    () =>
      process.stderr.write(
        `  ${label} ${((performance.now() - t0) / 1000).toFixed(0)} s: ${stats.latencies.length} trial POSTs, ${stats.completed} completed\n`,
      ),
    15_000,
  );
  for (let i = 0; i < o.participants; i++) {
    const wait = arrivals[i]! * scale - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    running.push(participant(i, base, agent, stats, o));
  }
  await Promise.all(running);
  clearInterval(progress);
  agent.destroy();
  return { stats, seconds: (performance.now() - t0) / 1000 };
}

/** Acknowledged trials missing from a database's `trials` table, and SQLite's integrity check. */
export function lostRows(dbFile: string, stats: Stats): { lost: number; integrity: unknown } {
  const db = new Database(dbFile, { readonly: true });
  try {
    const count = db.prepare('SELECT count(*) AS n FROM trials WHERE session_id = ?').pluck();
    let lost = 0;
    for (const [session, acked] of stats.acked) lost += Math.max(0, acked - (count.get(session) as number));
    return { lost, integrity: db.pragma('integrity_check', { simple: true }) };
  } finally {
    db.close();
  }
}

export function latencyLine(latencies: number[]): { text: string; p50: number; p90: number; p99: number; p999: number; max: number } {
  const sorted = Float64Array.from(latencies).sort();
  const [p50, p90, p99, p999, max] = [50, 90, 99, 99.9, 100].map((p) => percentile(sorted, p)) as [number, number, number, number, number];
  return {
    text: `p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)}, p99 ${p99.toFixed(2)}, p99.9 ${p999.toFixed(1)}, max ${max.toFixed(1)}`,
    p50,
    p90,
    p99,
    p999,
    max,
  };
}

interface Launched {
  stats: Stats;
  seconds: number;
  lost: number;
  integrity: unknown;
}

/** One launch against a fresh copy of the prepared data folder, the server started for it and stopped after. */
async function oneLaunch(kind: 'metamer' | 'baseline', prepared: string, roundDir: string, o: BurstOptions): Promise<Launched> {
  await fs.cp(prepared, roundDir, { recursive: true });
  const dbFile = path.join(roundDir, 'metamer.db');
  const port = await freePort();
  const server =
    kind === 'metamer'
      ? startProcess(process.execPath, [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)], {
          LOG_LEVEL: 'warn',
          METAMER_TRUST_PROXY: 'loopback',
        })
      : startBenchScript('baseline-ingest-server.ts', [
          path.join(roundDir, 'baseline.db'),
          String(port),
          path.join(roundDir, 'blobs'),
          '444',
          '27',
        ]);
  await waitForHttp(`http://127.0.0.1:${port}${kind === 'metamer' ? '/healthz' : '/'}`, server);
  const { stats, seconds } = await launch(`http://127.0.0.1:${port}`, o, kind);
  await stop(server);
  return { stats, seconds, ...lostRows(kind === 'metamer' ? dbFile : path.join(roundDir, 'baseline.db'), stats) };
}

async function main(): Promise<void> {
  const dir = await tempDir('burst');
  // Screening passes whatever the simulated answers: this measures load, not the gate's rule.
  // Participants here go at ten times the real pace, so the study's display times are a tenth of
  // the paper's: the server's pacing check (server/pacing.ts) then holds them to that pace, as it
  // holds real participants to theirs, and an honest simulated participant never meets it.
  const { dbFile } = await makeBenchStudy(
    dir,
    { screening_min_correct: 0 },
    { blank_ms: 50, fixation_ms: 30, stimulus_ms: 30, practice_stimulus_ms: 40, mask_ms: 30 },
  );
  const prepared = path.dirname(dbFile);
  const o: BurstOptions = {
    participants: PARTICIPANTS,
    arrivalSeconds: ARRIVAL_SECONDS,
    trialMs: TRIAL_MS,
    studyId: 'bench',
    pidPrefix: 'b0',
    fetchConcurrency: 4,
  };
  console.log(
    `launch burst: ${PARTICIPANTS} participants arriving within ${ARRIVAL_SECONDS} s (Poisson), 444 trials each at ~${TRIAL_MS} ms per trial (10× real pace), one server process; ${ROUNDS} round(s), baseline and metamer alternating`,
  );
  console.log(
    '  baseline: bare node:http + better-sqlite3 (bench/baseline-ingest-server.ts) doing the same exchanges from the same client code —',
  );
  console.log(
    '    session start (a session row, a 444-trial view), every stimulus file (kept in memory), every trial INSERT, the gate (a count),',
  );
  console.log(
    "    completion (an UPDATE), the platform's WAL checkpoint worker; it does NOT validate, plan sessions, check trials against a plan,",
  );
  console.log('    compute correctness, keep canonical JSON for idempotency, rate-limit, log or set security headers.');
  const results: { metamer: Launched[]; baseline: Launched[] } = { metamer: [], baseline: [] };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so that neither always meets the machine in the same state.
    for (const kind of r % 2 === 0 ? (['baseline', 'metamer'] as const) : (['metamer', 'baseline'] as const)) {
      const res = await oneLaunch(kind, prepared, path.join(dir, `round${r}-${kind}`), o);
      results[kind].push(res);
      const l = latencyLine(res.stats.latencies);
      console.log(
        `  round ${r + 1} ${kind.padEnd(8)}: ${res.seconds.toFixed(0)} s, ${res.stats.latencies.length} trial POSTs, ${res.stats.stimulusGets} stimulus GETs, completed ${res.stats.completed}, errors ${errorsOf(res.stats)}, lost ${res.lost} (integrity ${String(res.integrity)}); ${l.text}`,
      );
      await fs.rm(path.join(dir, `round${r}-${kind}`), { recursive: true, force: true });
    }
  }
  await fs.rm(dir, { recursive: true, force: true });

  const all = (xs: Launched[]) => xs.flatMap((x) => x.stats.latencies);
  const ours = latencyLine(all(results.metamer));
  const theirs = latencyLine(all(results.baseline));
  const sum = (xs: Launched[], f: (x: Launched) => number) => xs.reduce((a, x) => a + f(x), 0);
  const errors = results.metamer.map((x) => errorsOf(x.stats)).join(' / ');
  console.log(
    `  ratio metamer / baseline over all rounds: p50 ${(ours.p50 / theirs.p50).toFixed(2)}×, p99 ${(ours.p99 / theirs.p99).toFixed(2)}×`,
  );
  console.log(`  load average: ${loadAverage()}`);
  console.log(
    '\n| date | completed, metamer / baseline | errors | lost rows | trial POST latency, metamer p50 / p90 / p99 / p99.9 / max | baseline p50 / p99 / max | **ratio p50 / p99** |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${new Date().toISOString().slice(0, 10)} (${ROUNDS} rounds each, load ${loadAverage()}) | ${sum(results.metamer, (x) => x.stats.completed)} / ${sum(results.baseline, (x) => x.stats.completed)} of ${ROUNDS * PARTICIPANTS} | ${errors} | ${sum(results.metamer, (x) => x.lost)} / ${sum(results.baseline, (x) => x.lost)} | ` +
      `${[ours.p50, ours.p90, ours.p99, ours.p999, ours.max].map((x) => x.toFixed(2)).join(' / ')} ms | ${[theirs.p50, theirs.p99, theirs.max].map((x) => x.toFixed(2)).join(' / ')} ms | **${(ours.p50 / theirs.p50).toFixed(2)} / ${(ours.p99 / theirs.p99).toFixed(2)}** |`,
  );
}

function errorsOf(stats: Stats): string {
  return [...stats.errors].map(([k, v]) => `${v}× ${k}`).join('; ') || '0';
}

// Run as a script (npm run bench:burst); other benches import launch() and participant().
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
