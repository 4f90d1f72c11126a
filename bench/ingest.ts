/**
 * `npm run bench:ingest`: trial ingestion, one POST per trial, each a committed SQLite
 * transaction, against the platform (`metamer serve`) and the baseline (bench/baseline-ingest-server.ts:
 * bare node:http + one better-sqlite3 INSERT of the same row, with the same WAL checkpoint worker) in
 * the same run: closed-loop throughput, then open-loop Poisson arrivals at 1,000 trials/s for latency
 * percentiles. Closed-loop and open-loop rounds alternate between the two servers.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { closedLoop, type LoadRequest, type LoadResult, openLoop } from './load.ts';
import { backdateSessions, makeBenchStudy, trialBody } from './study-fixture.ts';
import { freePort, loadAverage, median, percentile, ROOT, startBenchScript, startProcess, stop, tempDir, waitForHttp } from './support.ts';

export interface IngestOptions {
  /** Sessions started on the platform; every request is a trial of one of them not yet stored. */
  sessions: number;
  rounds: number;
  /** Closed loop: seconds per round and connections. */
  seconds: number;
  connections: number;
  /** Open loop: Poisson arrivals per second, seconds per round. */
  rate: number;
  openSeconds: number;
  studyId: string;
  /**
   * Called once the sessions exist. Posting as fast as the loop allows is far ahead of any
   * participant: the SQLite run moves the sessions' start back a day, as in a study in progress,
   * so the pacing check runs on every trial and passes (another store does the same its own way).
   */
  afterSessionsStarted?: () => void | Promise<void>;
}

export const DEFAULT_INGEST: IngestOptions = {
  sessions: Number(process.env.BENCH_SESSIONS ?? 600),
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  seconds: Number(process.env.BENCH_SECONDS ?? 8),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  rate: Number(process.env.BENCH_RATE ?? 1000),
  openSeconds: Number(process.env.BENCH_OPEN_SECONDS ?? 20),
  studyId: 'bench',
};

export const BASELINE_DOES =
  'baseline: bare node:http + one better-sqlite3 INSERT per POST of the same row into the same `trials` table (WAL, same synchronous setting, ' +
  "the platform's checkpoint worker); it does NOT parse with zod, look up the session or its plan, compute correctness, keep canonical JSON or route through the platform's handler.";

function describe(r: LoadResult): string {
  const l = r.latencies;
  return `${(r.ok / r.seconds).toFixed(0)} ok/s; p50 ${percentile(l, 50).toFixed(2)} ms, p90 ${percentile(l, 90).toFixed(2)}, p99 ${percentile(l, 99).toFixed(2)}, max ${percentile(l, 100).toFixed(1)}; errors ${r.errors}; at most ${r.maxInFlight} in flight`;
}

export interface IngestResult {
  throughput: { ours: number[]; theirs: number[] };
  open: { ours: LoadResult[]; theirs: LoadResult[] };
  /** Trials the platform acknowledged (200). */
  acked: number;
  requests: number;
}

/** Round r of baseline and platform, one after the other, the baseline first in even rounds; [baseline, platform]. */
async function inTurn<T>(r: number, baseline: () => Promise<T>, platform: () => Promise<T>): Promise<[T, T]> {
  if (r % 2 === 0) {
    const b = await baseline();
    return [b, await platform()];
  }
  const m = await platform();
  return [await baseline(), m];
}

/** The ingestion rounds against a platform at `platformUrl` (a launched study `o.studyId`) and a baseline at `baselineUrl`. */
export async function ingest(platformUrl: string, baselineUrl: string, o: IngestOptions): Promise<IngestResult> {
  // Sessions with 400 trials each; requests interleave participants as a live study does.
  const sessions: { id: string; choices: string[]; n: number }[] = [];
  for (let i = 0; i < o.sessions; i++) {
    const res = await fetch(`${platformUrl}/api/studies/${o.studyId}/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prolific_pid: String(i).padStart(24, '0') }),
    });
    if (res.status !== 200) throw new Error(`session start: ${res.status} ${await res.text()}`);
    const view = (await res.json()) as { session: string; choices: string[]; trials: unknown[] };
    sessions.push({ id: view.session, choices: view.choices, n: view.trials.length });
  }
  await o.afterSessionsStarted?.();
  const all: LoadRequest[] = [];
  const perSession = sessions[0]!.n;
  for (let i = 0; i < perSession; i++) {
    for (const s of sessions) all.push({ path: `/api/sessions/${s.id}/trials`, body: trialBody(i, s.choices[i % s.choices.length]!) });
  }
  // Every request is a new trial: the platform's come from real sessions (a list it must not run
  // out of); the baseline stores whatever session id it is given, so its list never ends.
  const ours = all[Symbol.iterator]();
  const theirs = (function* () {
    for (let round = 0; ; round++) for (const r of all) yield { path: r.path.replace('/sessions/', `/sessions/r${round}-`), body: r.body };
  })();

  const out: IngestResult = { throughput: { ours: [], theirs: [] }, open: { ours: [], theirs: [] }, acked: 0, requests: all.length };
  await closedLoop(baselineUrl, theirs, o.connections, 2); // warm-up
  out.acked += (await closedLoop(platformUrl, ours, o.connections, 2)).ok;
  // Alternating, and alternating which goes first, so that neither always meets the machine in the same state.
  for (let r = 0; r < o.rounds; r++) {
    const [base, m] = await inTurn(
      r,
      () => closedLoop(baselineUrl, theirs, o.connections, o.seconds),
      () => closedLoop(platformUrl, ours, o.connections, o.seconds),
    );
    if (m.errors || base.errors) throw new Error(`errors: ours ${JSON.stringify(m.statuses)}, baseline ${JSON.stringify(base.statuses)}`);
    out.throughput.theirs.push(base.ok / base.seconds);
    out.throughput.ours.push(m.ok / m.seconds);
    out.acked += m.ok;
    process.stderr.write(`closed round ${r + 1}: baseline ${describe(base)}\n                metamer  ${describe(m)}\n`);
  }
  for (let r = 0; r < o.rounds; r++) {
    const [b, m] = await inTurn(
      r,
      () => openLoop(baselineUrl, theirs, o.rate, o.openSeconds, 7 + r),
      () => openLoop(platformUrl, ours, o.rate, o.openSeconds, 7 + r),
    );
    out.open.theirs.push(b);
    out.open.ours.push(m);
    out.acked += m.ok;
    process.stderr.write(`open round ${r + 1}: baseline ${describe(b)}\n              metamer  ${describe(m)}\n`);
  }
  if (out.acked >= all.length) throw new Error(`the platform ran out of trials to send (${all.length}): raise the number of sessions`);
  return out;
}

/** All rounds' latencies together. */
function pooled(rs: LoadResult[]): LoadResult {
  const latencies = Float64Array.from(rs.flatMap((r) => [...r.latencies])).sort();
  const sum = (f: (r: LoadResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  return {
    sent: sum((r) => r.sent),
    ok: sum((r) => r.ok),
    errors: sum((r) => r.errors),
    statuses: {},
    seconds: sum((r) => r.seconds),
    latencies,
    maxInFlight: Math.max(...rs.map((r) => r.maxInFlight)),
  };
}

async function main(): Promise<void> {
  const o = DEFAULT_INGEST;
  const dir = await tempDir('ingest');
  const { dbFile } = await makeBenchStudy(dir, { practice_trials: 0, screening_trials: 0, catch_trials: 0 });
  const env = { LOG_LEVEL: 'warn', METAMER_SESSION_STARTS_PER_MINUTE: '1000000' };

  const port = await freePort();
  const server = startProcess(process.execPath, [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)], env);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
  const basePort = await freePort();
  const baseline = startBenchScript('baseline-ingest-server.ts', [path.join(dir, 'baseline.db'), String(basePort)]);
  await waitForHttp(`http://127.0.0.1:${basePort}/`, baseline);

  const r = await ingest(`http://127.0.0.1:${port}`, `http://127.0.0.1:${basePort}`, {
    ...o,
    afterSessionsStarted: () => backdateSessions(dbFile, 24 * 3_600_000),
  });
  await Promise.all([stop(server), stop(baseline)]);

  // Every acknowledged trial is in the database (the load generator counted 200s).
  const db = new Database(dbFile, { readonly: true });
  const stored = (db.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n;
  db.close();
  await fs.rm(dir, { recursive: true, force: true });

  const ratio = median(r.throughput.ours) / median(r.throughput.theirs);
  const openOurs = pooled(r.open.ours);
  const openBase = pooled(r.open.theirs);
  const p = (x: LoadResult, q: number) => percentile(x.latencies, q).toFixed(2);
  console.log(
    `trial ingestion: one POST per trial, one committed transaction each (WAL, synchronous=${process.env.METAMER_SYNCHRONOUS ?? 'NORMAL'}), ${o.sessions} sessions × ${r.requests / o.sessions} trials`,
  );
  console.log(`  ${BASELINE_DOES}`);
  console.log(`  closed loop, ${o.connections} connections, ${o.rounds} alternating rounds × ${o.seconds} s:`);
  console.log(
    `    baseline:      ${median(r.throughput.theirs).toFixed(0)} trials/s (rounds ${r.throughput.theirs.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(
    `    metamer serve: ${median(r.throughput.ours).toFixed(0)} trials/s (rounds ${r.throughput.ours.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(`    ratio metamer / baseline: ${ratio.toFixed(2)}×  (goal ≥ 0.5×)`);
  console.log(
    `  open loop, Poisson ${o.rate}/s, ${o.rounds} alternating rounds × ${o.openSeconds} s (requests leave on schedule, answered or not):`,
  );
  console.log(`    baseline: ${describe(openBase)}`);
  console.log(`    metamer:  ${describe(openOurs)}  (goal p99 ≤ 20 ms)`);
  console.log(`  trials acknowledged by metamer: ${r.acked}; rows in its database: ${stored}${stored === r.acked ? '' : '  MISMATCH'}`);
  console.log(`  load average: ${loadAverage()}`);
  console.log(
    '\n| date | baseline | metamer serve | **ratio** | open loop, metamer p50 / p90 / p99 / max | baseline p99 | acknowledged = stored |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${new Date().toISOString().slice(0, 10)} (load ${loadAverage()}) | ${median(r.throughput.theirs).toFixed(0)} trials/s | ${median(r.throughput.ours).toFixed(0)} trials/s | **${ratio.toFixed(2)}** | ` +
      `${p(openOurs, 50)} / ${p(openOurs, 90)} / **${p(openOurs, 99)}** / ${p(openOurs, 100)} ms | ${p(openBase, 99)} ms | ${r.acked} = ${stored}${stored === r.acked ? '' : ' MISMATCH'} |`,
  );
}

// Run as a script (npm run bench:ingest); other benches import ingest().
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
