/**
 * `npm run bench:ingest-postgres`: trial ingestion on PostgreSQL, one POST per trial, each one
 * committed INSERT, against `metamer serve` with METAMER_DATABASE_URL and a bare node:http +
 * node-postgres insert server (bench/baseline-ingest-postgres.ts) in the same run, on the same
 * throwaway cluster (PostgreSQL 15 with its default durability: fsync and synchronous_commit on),
 * rounds alternated: closed-loop throughput, then open-loop Poisson arrivals for latency.
 */
import path from 'node:path';
import pg from 'pg';
import { startPostgresCluster, createDatabase } from '../test/support/postgres.ts';
import { PostgresStore } from '../server/store/postgres-store.ts';
import { closedLoop, type LoadRequest, type LoadResult, openLoop } from './load.ts';
import { makeBenchStudy, trialBody } from './study-fixture.ts';
import { freePort, loadAverage, median, percentile, ROOT, startBenchScript, startProcess, stop, tempDir, waitForHttp } from './support.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 300);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 20);

function describe(r: LoadResult): string {
  const l = r.latencies;
  return `${(r.ok / r.seconds).toFixed(0)} ok/s; p50 ${percentile(l, 50).toFixed(2)} ms, p90 ${percentile(l, 90).toFixed(2)}, p99 ${percentile(l, 99).toFixed(2)}, max ${percentile(l, 100).toFixed(1)}; errors ${r.errors}`;
}

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const dir = await tempDir('ingest-pg');
  const cluster = await startPostgresCluster({ durable: true });
  const children = [];
  try {
    const url = await createDatabase(cluster.base, 'ingest');
    const baseUrl = await createDatabase(cluster.base, 'baseline');
    // The baseline's table: the platform's schema, without the foreign key (it has no sessions).
    await (await PostgresStore.open(baseUrl)).close();
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    await c.query('ALTER TABLE trials DROP CONSTRAINT trials_session_id_fkey');
    await c.end();
    const { dbFile } = await makeBenchStudy(dir, { practice_trials: 0, screening_trials: 0, catch_trials: 0 }, undefined, url);

    const env = { LOG_LEVEL: 'warn', METAMER_SESSION_STARTS_PER_MINUTE: '1000000', METAMER_DATABASE_URL: url };
    const port = await freePort();
    const server = startProcess(
      process.execPath,
      [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)],
      env,
    );
    children.push(server);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
    const basePort = await freePort();
    const baseline = startBenchScript('baseline-ingest-postgres.ts', [baseUrl, String(basePort)]);
    children.push(baseline);
    await waitForHttp(`http://127.0.0.1:${basePort}/`, baseline);

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
    await sql(url, 'UPDATE sessions SET started_at = started_at - 86400000');
    const all: LoadRequest[] = [];
    const perSession = sessions[0]!.n;
    for (let i = 0; i < perSession; i++) {
      for (const s of sessions) all.push({ path: `/api/sessions/${s.id}/trials`, body: trialBody(i, s.choices[i % s.choices.length]!) });
    }
    const ours = all[Symbol.iterator]();
    const theirs = (function* () {
      for (let round = 0; ; round++)
        for (const r of all) yield { path: r.path.replace('/sessions/', `/sessions/r${round}-`), body: r.body };
    })();

    const throughput = { ours: [] as number[], theirs: [] as number[] };
    let acked = 0;
    await closedLoop(`http://127.0.0.1:${basePort}`, theirs, CONNECTIONS, 2); // warm-up
    acked += (await closedLoop(`http://127.0.0.1:${port}`, ours, CONNECTIONS, 2)).ok;
    for (let r = 0; r < ROUNDS; r++) {
      // Alternated: odd rounds measure metamer first, so neither side always runs on a warmer cluster.
      const pair = r % 2 === 0 ? ['base', 'ours'] : ['ours', 'base'];
      const results: Record<string, LoadResult> = {};
      for (const who of pair)
        results[who] =
          who === 'base'
            ? await closedLoop(`http://127.0.0.1:${basePort}`, theirs, CONNECTIONS, SECONDS)
            : await closedLoop(`http://127.0.0.1:${port}`, ours, CONNECTIONS, SECONDS);
      const [b, o] = [results.base!, results.ours!];
      if (o.errors || b.errors) throw new Error(`errors: ours ${JSON.stringify(o.statuses)}, baseline ${JSON.stringify(b.statuses)}`);
      throughput.theirs.push(b.ok / b.seconds);
      throughput.ours.push(o.ok / o.seconds);
      acked += o.ok;
      process.stderr.write(`round ${r + 1}: baseline ${describe(b)}\n         metamer  ${describe(o)}\n`);
    }
    const openBase = await openLoop(`http://127.0.0.1:${basePort}`, theirs, RATE, OPEN_SECONDS, 7);
    const openOurs = await openLoop(`http://127.0.0.1:${port}`, ours, RATE, OPEN_SECONDS, 7);
    acked += openOurs.ok;
    await Promise.all(children.map(stop));
    const stored = Number((await sql(url, 'SELECT count(*) AS n FROM trials')).rows[0].n);

    if (acked >= all.length) throw new Error(`the platform ran out of trials to send (${all.length}): raise BENCH_SESSIONS`);
    const ratio = median(throughput.ours) / median(throughput.theirs);
    console.log(
      `trial ingestion on PostgreSQL 15 (fsync and synchronous_commit on): one POST per trial, one committed INSERT each, ${SESSIONS} sessions × ${perSession} trials`,
    );
    console.log(`  closed loop, ${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s, rounds alternated:`);
    console.log(
      `    baseline node:http + pg insert: ${median(throughput.theirs).toFixed(0)} trials/s (rounds ${throughput.theirs.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(
      `    metamer serve:                  ${median(throughput.ours).toFixed(0)} trials/s (rounds ${throughput.ours.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(`    ratio metamer / baseline:       ${ratio.toFixed(2)}×  (goal ≥ 0.5×)`);
    console.log(`  open loop, Poisson ${RATE}/s for ${OPEN_SECONDS} s:`);
    console.log(`    baseline: ${describe(openBase)}`);
    console.log(`    metamer:  ${describe(openOurs)}`);
    console.log(`  trials acknowledged by metamer: ${acked}; rows in its database: ${stored}${stored === acked ? '' : '  MISMATCH'}`);
    console.log(`  load average: ${loadAverage()}`);
  } finally {
    await Promise.all(children.map(stop));
    await cluster.stop();
    const fs = await import('node:fs/promises');
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
