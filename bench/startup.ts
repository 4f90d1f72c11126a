/**
 * `npm run bench:startup`: how fast the CLI answers and the server starts.
 *
 * CLI: hyperfine (`apt-get install hyperfine`) runs `node -e 0` — the baseline, Node's own start-up,
 * in the same run — and `metamer --help`, `metamer study list`, `metamer analyze --help` through
 * bin/metamer.js (the compiled CLI, bin/cli-build.js), 3 warm-ups and 20 runs each, interleaved by
 * hyperfine's own order. Goal: `--help` and `study list` ≤ 0.3 s wall.
 *
 * Server: `metamer serve` on an existing database (the demo studies' schema, no demo import) from
 * spawn to its first answered request (GET /healthz, polled every 5 ms), against the baseline of a
 * bare node:http server started the same way; alternating, one warm-up each, then ROUNDS rounds.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, loadAverage, median, requireTool, ROOT, tempDir } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const BIN = path.join(ROOT, 'bin/metamer.js');

interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number;
  median: number;
  user: number;
  system: number;
}

function answered(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

/** Milliseconds from spawning `args` to the first 200 on /healthz. */
async function timeToFirstAnswer(args: string[], port: number): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      if (await answered(port)) return performance.now() - t0;
      if (performance.now() - t0 > 60_000) throw new Error(`${args.join(' ')} did not answer in 60 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

async function main(): Promise<void> {
  requireTool('hyperfine', 'apt-get install hyperfine');
  const dir = await tempDir('startup');
  const db = path.join(dir, 'metamer.db');
  try {
    // Brings the compiled CLI up to date and creates the database, outside the measurement.
    execFileSync(process.execPath, [BIN, '--db', db, 'study', 'list'], { stdio: 'ignore' });
    const json = path.join(dir, 'hyperfine.json');
    const commands = ['node -e 0', `node ${BIN} --help`, `node ${BIN} study list --db ${db}`, `node ${BIN} analyze --help`];
    execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', json, ...commands], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const results = (JSON.parse(fs.readFileSync(json, 'utf8')) as { results: HyperfineResult[] }).results;
    const node = results[0]!;

    const bareServer = path.join(dir, 'bare-server.mjs');
    fs.writeFileSync(
      bareServer,
      "import http from 'node:http';\nhttp.createServer((q, s) => s.end('ok')).listen(Number(process.argv[2]), '127.0.0.1');\n",
    );
    const ours: number[] = [];
    const bare: number[] = [];
    for (let r = -1; r < ROUNDS; r++) {
      const port = await freePort();
      const o = await timeToFirstAnswer([BIN, '--db', db, 'serve', '--port', String(port)], port);
      const b = await timeToFirstAnswer([bareServer, String(port)], port);
      // Round -1 warms the page cache and the compiled CLI; it is not counted.
      if (r >= 0) {
        ours.push(o);
        bare.push(b);
      }
    }

    const date = new Date().toISOString().slice(0, 10);
    console.log(`CLI and server start-up, ${date}, node ${process.version}, load average ${loadAverage()}`);
    console.log(
      'baseline: `node -e 0` (Node starting and exiting, nothing loaded) and a bare node:http server answering its first request;',
    );
    console.log(
      'they do NOT load the CLI, its command modules, the database or the server (Express, the page bundles built by esbuild).\n',
    );
    console.log(`| command (hyperfine -N, ${RUNS} runs) | median wall | mean ± sd | user + system CPU | **ratio to node -e 0 (median)** |`);
    console.log('| --- | --- | --- | --- | --- |');
    for (const r of results) {
      const name = r.command.replace(`node ${BIN}`, 'metamer').replace(` --db ${db}`, '');
      console.log(
        `| \`${name}\` | ${(r.median * 1000).toFixed(0)} ms | ${(r.mean * 1000).toFixed(0)} ± ${(r.stddev * 1000).toFixed(0)} ms | ${((r.user + r.system) * 1000).toFixed(0)} ms | **${(r.median / node.median).toFixed(2)}** |`,
      );
    }
    console.log(`\n| server, spawn → first answered request (${ROUNDS} alternating rounds) | median | min–max | **ratio** |`);
    console.log('| --- | --- | --- | --- |');
    console.log(
      `| bare node:http server (baseline) | ${median(bare).toFixed(0)} ms | ${Math.min(...bare).toFixed(0)}–${Math.max(...bare).toFixed(0)} ms | 1.00 |`,
    );
    console.log(
      `| \`metamer serve\` | ${median(ours).toFixed(0)} ms | ${Math.min(...ours).toFixed(0)}–${Math.max(...ours).toFixed(0)} ms | **${(median(ours) / median(bare)).toFixed(2)}** |`,
    );
    const goal = (cmd: string) => results.find((r) => r.command.includes(cmd))!.median <= 0.3;
    console.log(
      `\ngoal --help ≤ 0.3 s: ${goal(' --help') ? 'met' : 'NOT met'}; study list ≤ 0.3 s: ${goal('study list') ? 'met' : 'NOT met'}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
