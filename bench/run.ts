/**
 * `npm run bench`: every benchmark in turn (each prints its figures as ratios to a baseline
 * measured in the same run). One at a time: they share two cores. Name some to run only those:
 * `npm run bench -- serving ingest`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './support.ts';

const ALL = ['startup', 'serving', 'ingest', 'burst', 'page', 'timing', 'import', 'analysis', 'typed-suggestions', 'dashboard'];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !ALL.includes(w));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`);
  process.exit(2);
}
const failed: string[] = [];
for (const name of wanted.length ? wanted : ALL) {
  process.stdout.write(`\n=== ${name} (bench/${name}.ts) ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', `${name}.ts`)], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) failed.push(name);
}
if (failed.length) {
  process.stderr.write(`\nfailed: ${failed.join(', ')}\n`);
  process.exit(1);
}
