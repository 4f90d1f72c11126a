/**
 * `npm run bench:ingest`: trial ingestion, one POST per trial, each a committed SQLite
 * transaction, against the platform (`metamer serve`) and a bare node:http + better-sqlite3 insert
 * server (bench/baseline-ingest-server.ts) in the same run: closed-loop throughput, then open-loop
 * Poisson arrivals at 1,000 trials/s for latency percentiles.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { closedLoop, type LoadRequest, type LoadResult, openLoop } from './load.ts';
import { backdateSessions, makeBenchStudy, trialBody } from './study-fixture.ts';
import { freePort, loadAverage, median, percentile, ROOT, startProcess, stop, tempDir, waitForHttp } from './support.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 600);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 20);

function describe(r: LoadResult): string {
  const l = r.latencies;
  return `${(r.ok / r.seconds).toFixed(0)} ok/s; p50 ${percentile(l, 50).toFixed(2)} ms, p90 ${percentile(l, 90).toFixed(2)}, p99 ${percentile(l, 99).toFixed(2)}, max ${percentile(l, 100).toFixed(1)}; errors ${r.errors}`;
}

async function main(): Promise<void> {
  const dir = await tempDir('ingest');
  const { dbFile } = await makeBenchStudy(dir, { practice_trials: 0, screening_trials: 0, catch_trials: 0 });
  const env = { LOG_LEVEL: 'warn', METAMER_SESSION_STARTS_PER_MINUTE: '1000000' };

  const port = await freePort();
  const server = startProcess(process.execPath, [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)], env);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
  const basePort = await freePort();
  const baseDb = path.join(dir, 'baseline.db');
  const baseline = startProcess(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/baseline-ingest-server.ts'), baseDb, String(basePort)]);
  await waitForHttp(`http://127.0.0.1:${basePort}/`, baseline);

  // Sessions with 400 trials each; requests interleave participants as a live study does.
  const sessions: { id: string; choices: string[]; n: number }[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/api/studies/bench/sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prolific_pid: String(i).padStart(24, '0') }),
    });
    const view = (await res.json()) as { session: string; choices: string[]; trials: unknown[] };
    sessions.push({ id: view.session, choices: view.choices, n: view.trials.length });
  }
  // Posting as fast as the loop allows is far ahead of any participant: these sessions started
  // long ago, as in a study in progress, so the pacing check runs on every trial and passes.
  backdateSessions(dbFile, 24 * 3_600_000);
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

  const throughput = { ours: [] as number[], theirs: [] as number[] };
  let acked = 0;
  await closedLoop(basePort, theirs, CONNECTIONS, 2); // warm-up
  acked += (await closedLoop(port, ours, CONNECTIONS, 2)).ok;
  for (let r = 0; r < ROUNDS; r++) {
    const b = await closedLoop(basePort, theirs, CONNECTIONS, SECONDS);
    const o = await closedLoop(port, ours, CONNECTIONS, SECONDS);
    if (o.errors || b.errors) throw new Error(`errors: ours ${JSON.stringify(o.statuses)}, baseline ${JSON.stringify(b.statuses)}`);
    throughput.theirs.push(b.ok / b.seconds);
    throughput.ours.push(o.ok / o.seconds);
    acked += o.ok;
    process.stderr.write(`round ${r + 1}: baseline ${describe(b)}\n         metamer  ${describe(o)}\n`);
  }
  const openBase = await openLoop(basePort, theirs, RATE, OPEN_SECONDS, 7);
  const openOurs = await openLoop(port, ours, RATE, OPEN_SECONDS, 7);
  acked += openOurs.ok;
  await Promise.all([stop(server), stop(baseline)]);

  // Every acknowledged trial is in the database (the load generator counted 200s).
  const db = new Database(dbFile, { readonly: true });
  const stored = (db.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n;
  db.close();
  await fs.rm(dir, { recursive: true, force: true });

  if (acked >= all.length) throw new Error(`the platform ran out of trials to send (${all.length}): raise BENCH_SESSIONS`);
  const ratio = median(throughput.ours) / median(throughput.theirs);
  console.log(`trial ingestion: one POST per trial, one committed transaction each (WAL, synchronous=${process.env.METAMER_SYNCHRONOUS ?? 'NORMAL'}), ${SESSIONS} sessions × ${perSession} trials`);
  console.log(`  closed loop, ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s:`);
  console.log(`    baseline node:http + insert: ${median(throughput.theirs).toFixed(0)} trials/s (rounds ${throughput.theirs.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`    metamer serve:               ${median(throughput.ours).toFixed(0)} trials/s (rounds ${throughput.ours.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`    ratio metamer / baseline:    ${ratio.toFixed(2)}×  (goal ≥ 0.5×)`);
  console.log(`  open loop, Poisson ${RATE}/s for ${OPEN_SECONDS} s:`);
  console.log(`    baseline: ${describe(openBase)}`);
  console.log(`    metamer:  ${describe(openOurs)}  (goal p99 ≤ 20 ms)`);
  console.log(`  trials acknowledged by metamer: ${acked}; rows in its database: ${stored}${stored === acked ? '' : '  MISMATCH'}`);
  console.log(`  load average: ${loadAverage()}`);
}

await main();
