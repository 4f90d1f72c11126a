/**
 * `npm run bench:burst-instances`: the launch burst of bench/burst.ts (500 participants arriving
 * within 60 s, each from its own address, the paper's 444-trial protocol at ten times a person's
 * pace) against the deployment of docs/deploying.md: two `metamer serve` instances on one
 * PostgreSQL database (PostgreSQL 15, default durability) behind nginx configured by
 * deploy/nginx-instances.conf (round-robin, stimuli from the static export). Reported: errors,
 * lost rows (acknowledged trials not in the database), completions, how the requests split over
 * the instances, and the trial POSTs' latency through nginx.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { answeredBy, instancesServerBlock } from '../test/support/nginx.ts';
import { createDatabase, startPostgresCluster } from '../test/support/postgres.ts';
import { launch, latencyLine } from './burst.ts';
import { makeBenchStudy } from './study-fixture.ts';
import { freePort, loadAverage, ROOT, startNginx, startProcess, stop, tempDir, waitForHttp } from './support.ts';

const INSTANCES = 2;
const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 500);
const ARRIVAL_SECONDS = Number(process.env.BENCH_ARRIVAL_SECONDS ?? 60);
/** bench/burst.ts's pace: about ten times a real participant's. */
const TRIAL_MS = Number(process.env.BENCH_TRIAL_MS ?? 300);

async function main(): Promise<void> {
  const dir = await tempDir('burst-instances');
  const cluster = await startPostgresCluster({ durable: true });
  const children = [];
  try {
    const url = await createDatabase(cluster.base, 'burst');
    // Screening passes whatever the simulated answers: this measures load, not the gate's rule.
    const { dbFile } = await makeBenchStudy(
      dir,
      { screening_min_correct: 0 },
      // bench/burst.ts's timing: its simulated participants keep to it (the pacing check).
      { blank_ms: 50, fixation_ms: 30, stimulus_ms: 30, practice_stimulus_ms: 40, mask_ms: 30 },
      url,
    );
    const env = {
      LOG_LEVEL: 'warn',
      METAMER_DATABASE_URL: url,
      METAMER_TRUST_PROXY: 'loopback',
      METAMER_PARTICIPANT_KEY: 'burst-instances-key-0123456789abcdef0123',
    };
    const exported = path.join(dir, 'static');
    execFileSync(process.execPath, [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'stimuli', 'export-static', exported], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const ports: number[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const port = await freePort();
      const child = startProcess(
        process.execPath,
        [path.join(ROOT, 'bin/metamer.js'), '--db', dbFile, 'serve', '--port', String(port)],
        env,
      );
      children.push(child);
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, child);
      ports.push(port);
    }
    const front = await freePort();
    const log = path.join(dir, 'answered.log');
    children.push(await startNginx(dir, await instancesServerBlock(ports, exported, log), front, 2));

    const { stats, seconds } = await launch(`http://127.0.0.1:${front}`, {
      participants: PARTICIPANTS,
      arrivalSeconds: ARRIVAL_SECONDS,
      trialMs: TRIAL_MS,
      studyId: 'bench',
      pidPrefix: 'c1',
      fetchConcurrency: 4,
    });
    await Promise.all(children.map(stop));

    const c = new pg.Client({ connectionString: url });
    await c.connect();
    let lost = 0;
    const stored = new Map(
      (await c.query<{ session_id: string; n: string }>('SELECT session_id, count(*) AS n FROM trials GROUP BY session_id')).rows.map(
        (r) => [r.session_id, Number(r.n)],
      ),
    );
    for (const [session, acked] of stats.acked) lost += Math.max(0, acked - (stored.get(session) ?? 0));
    const states = (await c.query('SELECT state, count(*)::int AS n FROM sessions GROUP BY state ORDER BY state')).rows;
    const slots = (
      await c.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT slot)::int AS distinct FROM sessions')
    ).rows[0]!;
    await c.end();
    const split = new Map<string, number>();
    for (const a of await answeredBy(log)) split.set(a.upstreams.at(-1) ?? '-', (split.get(a.upstreams.at(-1) ?? '-') ?? 0) + 1);

    const errors = [...stats.errors].map(([k, v]) => `${v}× ${k}`).join('; ') || '0';
    const { text } = latencyLine(stats.latencies);
    console.log(`launch burst over ${INSTANCES} instances on one PostgreSQL 15 database behind nginx (deploy/nginx-instances.conf)`);
    console.log(
      `  wall time ${seconds.toFixed(0)} s; ${stats.latencies.length} trial POSTs, ${stats.stimulusGets} stimulus GETs (served by nginx from the static export)`,
    );
    console.log(
      `  completed: ${stats.completed}; sessions by state: ${JSON.stringify(states)}; slots: ${slots.distinct} distinct of ${slots.n}`,
    );
    console.log(`  errors: ${errors}`);
    console.log(`  lost rows (acknowledged, not in the database): ${lost}`);
    console.log(`  proxied requests per instance: ${[...split].map(([u, n]) => `${u} ${n}`).join(', ')}`);
    console.log(`  trial POST latency through nginx: ${text}`);
    console.log(`  load average: ${loadAverage()}`);
  } finally {
    await Promise.all(children.map(stop));
    await cluster.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

await main();
