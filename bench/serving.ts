/**
 * `npm run bench:serving`: stimulus serving, 100 KB PNGs requested at random by wrk, from this
 * server (`metamer serve`, one process) and from nginx with one worker process serving the same
 * files as `metamer stimuli export-static` lays them out, in the same run. Rounds alternate.
 * For reference, also bare node:http serving the same buffers from memory (bench/bare-static-server.ts):
 * what any Node process pays for HTTP and for copying each body into the socket.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PNG } from 'pngjs';
import { BlobStore } from '../stimuli/blob-store.ts';
import { exportStatic, nginxServerBlock } from '../stimuli/static-export.ts';
import { loadStimulusKey, STIMULUS_KEY_FILE_NAME, StimulusKeys } from '../server/stimulus-keys.ts';
import { mulberry32 } from '../stimuli/random.ts';
import {
  freePort,
  loadAverage,
  median,
  requireTool,
  ROOT,
  startBenchScript,
  startNginx,
  startProcess,
  stop,
  tempDir,
  waitForHttp,
} from './support.ts';

const FILES = Number(process.env.BENCH_FILES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

/** An RGB noise PNG of about 100 KB (noise does not compress). */
function noisePng(seed: number): Buffer {
  const side = 182;
  const png = new PNG({ width: side, height: side, colorType: 2 });
  const rng = mulberry32(seed);
  for (let i = 0; i < png.data.length; i++) png.data[i] = i % 4 === 3 ? 255 : Math.floor(rng() * 256);
  return PNG.sync.write(png, { colorType: 2 });
}

function wrk(url: string, script: string): number {
  const out = execFileSync('wrk', ['-t', '2', '-c', String(CONNECTIONS), '-d', `${SECONDS}s`, '-s', script, url], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (!m) throw new Error(`wrk printed no rate:\n${out}`);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses:\n${out}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  requireTool('wrk', 'apt-get install wrk');
  const dir = await tempDir('serving');
  const dataDir = path.join(dir, 'data');
  const blobs = new BlobStore(path.join(dataDir, 'blobs'));
  const entries = [];
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const png = noisePng(i + 1);
    bytes += png.length;
    entries.push(await blobs.putBuffer(png, 'png'));
  }
  // The key file the server will read (beside its database), so both serve the same keyed names.
  const keys = new StimulusKeys(loadStimulusKey(path.join(dataDir, STIMULUS_KEY_FILE_NAME)));
  const exported = await exportStatic(blobs, entries, path.join(dir, 'static'), keys);
  const paths = entries.map((e) => `/stimuli/${keys.publicName(`${e.sha256}.png`)}`);
  const script = path.join(dir, 'random-stimulus.lua');
  await fs.writeFile(
    script,
    `local paths = {${paths.map((p) => `"${p}"`).join(',')}}
math.randomseed(7)
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
`,
  );

  const nginxPort = await freePort();
  const nginx = await startNginx(dir, nginxServerBlock(exported.dir), nginxPort);
  const port = await freePort();
  const server = startProcess(
    process.execPath,
    [path.join(ROOT, 'bin/metamer.js'), '--db', path.join(dataDir, 'metamer.db'), 'serve', '--port', String(port)],
    { LOG_LEVEL: 'warn' },
  );
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);

  // Same bytes from both (a wrong file would make the comparison meaningless).
  for (const p of paths.slice(0, 3)) {
    const [a, b] = await Promise.all([fetch(`http://127.0.0.1:${port}${p}`), fetch(`http://127.0.0.1:${nginxPort}${p}`)]);
    if (!Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))) throw new Error(`different content for ${p}`);
  }

  const barePort = await freePort();
  const bare = startBenchScript('bare-static-server.ts', [path.join(dataDir, 'blobs'), String(barePort)]);
  await waitForHttp(`http://127.0.0.1:${barePort}/`, bare);

  const servers = [
    { name: 'nginx, 1 worker (baseline)', url: `http://127.0.0.1:${nginxPort}`, rates: [] as number[] },
    { name: 'metamer serve, 1 process', url: `http://127.0.0.1:${port}`, rates: [] as number[] },
    { name: 'bare node:http, same buffers', url: `http://127.0.0.1:${barePort}`, rates: [] as number[] },
  ];
  // Warm all (our in-memory cache, nginx's open-file cache and the page cache).
  for (const s of servers) wrk(s.url, script);
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts with a different server, so that none always meets the machine in the same state.
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(r + k) % servers.length]!;
      s.rates.push(wrk(s.url, script));
    }
    process.stderr.write(`round ${r + 1}: ${servers.map((s) => `${s.name} ${s.rates[r]!.toFixed(0)} req/s`).join(', ')}\n`);
  }
  await Promise.all([stop(server), stop(nginx), stop(bare)]);
  await fs.rm(dir, { recursive: true, force: true });

  const [theirs, ours, node] = servers.map((s) => s.rates) as [number[], number[], number[]];
  const ratio = median(ours) / median(theirs);
  console.log(
    `stimulus serving: ${FILES} PNGs of ${(bytes / FILES / 1024).toFixed(0)} KB at random, wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} rounds, the servers' order rotating`,
  );
  console.log(
    '  baseline: nginx with one worker process, the server block `metamer stimuli export-static` writes (sendfile, open-file cache, the same',
  );
  console.log(
    '  caching headers), reading the exported files; it does NOT run Node, keep its own memory cache, or check anything per request.',
  );
  for (const s of servers)
    console.log(`  ${s.name.padEnd(30)} ${median(s.rates).toFixed(0)} req/s (rounds ${s.rates.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(
    `  ratio metamer / nginx:  ${ratio.toFixed(2)}×  (goal ≥ 0.5×); metamer / bare node:http ${(median(ours) / median(node)).toFixed(2)}×`,
  );
  console.log(`  load average during the run: ${loadAverage()}`);
  const rounds = (xs: number[]) => `${median(xs).toFixed(0)} req/s (${xs.map((x) => x.toFixed(0)).join(' / ')})`;
  console.log(
    '\n| date | nginx, 1 worker | metamer serve, 1 process | **ratio** | bare node:http, same buffers | metamer / bare node:http |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${new Date().toISOString().slice(0, 10)} (load ${loadAverage()}) | ${rounds(theirs)} | ${rounds(ours)} | **${ratio.toFixed(2)}** | ${rounds(node)} | ${(median(ours) / median(node)).toFixed(2)} |`,
  );
}

await main();
