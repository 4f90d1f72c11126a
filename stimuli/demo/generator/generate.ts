/**
 * `npm run demo:generate` — regenerates stimuli/demo/image, stimuli/demo/audio and the card
 * stimuli/demo/README.md from the seed. The two modalities run as two child processes at once
 * (one per core); `--sequential` runs them one after the other, `--only` runs one in-process.
 * `--quick` writes toy sets to test-output/demo-quick unless `--out` says otherwise.
 *
 *   node --import tsx stimuli/demo/generator/generate.ts [--quick] [--seed N] [--out DIR] [--only image|audio] [--sequential] [--card-only]
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { demoConfig, type ModalityName } from './config.ts';
import { writeDemoCard, type RunFacts } from './demo-card.ts';
import { benchmarkKernels } from './kernel-benchmark.ts';
import { generateSet, type SetReport, type SetTimings } from './set-generator.ts';

export const TIMINGS_FILE = 'generation-timings.json';
/** The whole run's figures (kernel throughput, wall time), kept so the card can be rewritten. */
export const RUN_FILE = 'generation-run.json';
const MODALITIES: ModalityName[] = ['image', 'audio'];

function runChild(modality: ModalityName, args: string[]): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...process.execArgv, self, ...args, '--only', modality], { stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`the ${modality} generator exited with code ${code}`))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      sequential: { type: 'boolean', default: false },
      'card-only': { type: 'boolean', default: false },
    },
  });
  // Quick mode never overwrites the committed sets unless asked to.
  const out = resolve(values.out ?? (values.quick ? 'test-output/demo-quick' : 'stimuli/demo'));
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
  const config = demoConfig(values.quick!, seed);
  const log = (line: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

  if (values.only !== undefined) {
    if (!MODALITIES.includes(values.only as ModalityName)) throw new Error(`--only must be image or audio, got "${values.only}"`);
    const modality = values.only as ModalityName;
    const dir = join(out, modality);
    const { timings } = generateSet(modality, config, dir, log);
    writeFileSync(join(dir, TIMINGS_FILE), `${JSON.stringify(timings, null, 2)}\n`);
    log(`${modality}: done in ${timings.totalSeconds.toFixed(0)} s`);
    return;
  }

  const readReports = (): { reports: SetReport[]; timings: SetTimings[] } => ({
    reports: MODALITIES.map((m) => JSON.parse(readFileSync(join(out, m, 'generation-report.json'), 'utf8')) as SetReport),
    timings: MODALITIES.map((m) => JSON.parse(readFileSync(join(out, m, TIMINGS_FILE), 'utf8')) as SetTimings),
  });
  if (values['card-only']) {
    // Rewrites the card from the last run's recorded figures (after a change to the card's text).
    const { reports, timings } = readReports();
    writeDemoCard(out, reports, timings, JSON.parse(readFileSync(join(out, RUN_FILE), 'utf8')) as RunFacts);
    log(`card rewritten from the recorded figures in ${out}`);
    return;
  }

  const started = performance.now();
  const kernels = benchmarkKernels(values.quick ? 0.05 : 0.3);
  const childArgs = [...(values.quick ? ['--quick'] : []), '--out', out, ...(seed === undefined ? [] : ['--seed', String(seed)])];
  if (values.sequential) {
    for (const m of MODALITIES) await runChild(m, childArgs);
  } else {
    await Promise.all(MODALITIES.map((m) => runChild(m, childArgs)));
  }
  const { reports, timings } = readReports();
  const run: RunFacts = { kernels, wallSeconds: (performance.now() - started) / 1000, parallel: !values.sequential };
  writeFileSync(join(out, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  writeDemoCard(out, reports, timings, run);
  const wallSeconds = run.wallSeconds;
  log(`demo sets and card written to ${out} in ${wallSeconds.toFixed(0)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(`demo:generate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
