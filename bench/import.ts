/**
 * Benchmark: importing a realistic model-metamers tree (docs/design.md §6 names; 224×224 RGB PNGs of
 * ~130 kB, every file distinct) into an empty blob store, against a baseline measured in the same
 * run on the same tree: `cp -r` of the tree plus `sha256sum` of every copied file (what a careful
 * person would do by hand: copy and checksum).
 *
 *   npm run bench:import                         # 10,000 files
 *   npm run bench:import -- --files 100000 --size 64   # many small files: memory stays bounded
 *   node --expose-gc --import tsx bench/import.ts      # also reports the live heap after import
 *
 * Prints one JSON line per round and a summary; the figure in docs/benchmarks.md is the ratio
 * import / baseline of the second round (page cache warm for both).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BlobStore } from '../stimuli/blob-store.ts';
import { importStimulusSet } from '../stimuli/import.ts';
import { ALEXNET_LAYERS, PAPER_IMAGE_CATEGORIES, patternPng, RESNET50_LAYERS } from '../test/fixtures/stimulus-sets.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '10000' },
    size: { type: 'string', default: '224' },
    rounds: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const FILES = Number(values.files);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);

const MODELS = [
  {
    name: 'resnet50',
    layers: RESNET50_LAYERS,
  },
  {
    name: 'alexnet',
    layers: ALEXNET_LAYERS,
  },
  { name: 'cornet_s', layers: ['V1', 'V2', 'V4', 'IT', 'avgpool', 'final', 'decoder', 'output'] },
];
const CATEGORIES = PAPER_IMAGE_CATEGORIES;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A base PNG made distinct by a tEXt chunk before IEND (cheap, and a valid PNG). */
function withText(png: Buffer, text: string): Buffer {
  const data = Buffer.from(`Comment\0${text}`, 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('tEXt', 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return Buffer.concat([png.subarray(0, png.length - 12), chunk, png.subarray(png.length - 12)]);
}

async function makeTree(root: string): Promise<{ dirs: string[]; files: number; bytes: number }> {
  const perSource = MODELS.length * (MODELS[0]!.layers.length + 1);
  const sources = Math.ceil(FILES / perSource);
  const bases = Array.from({ length: 64 }, (_, i) => patternPng(SIZE, CATEGORIES[i % 16]!, `base${i}`, (i % 8) + 1, 7));
  let files = 0;
  let bytes = 0;
  const dirs: string[] = [];
  for (const model of MODELS) {
    const dir = path.join(root, model.name);
    dirs.push(dir);
    for (let idx = 0; idx < sources; idx++) {
      const category = CATEGORIES[idx % 16]!;
      const folder = path.join(dir, 'metamers', 'psychophysics_16_category_val_RS0_I3000_N8', `${idx}_SOUND_${category}`);
      await fs.mkdir(folder, { recursive: true });
      const write = async (name: string, data: Buffer): Promise<void> => {
        await fs.writeFile(path.join(folder, name), data);
        files++;
        bytes += data.length;
      };
      // The same natural in every model folder, as the generating code writes it.
      await write('orig.png', withText(bases[idx % 64]!, `orig ${idx}`));
      for (const [k, layer] of model.layers.entries()) {
        await write(`${k}_layer_${layer}_synth.png`, withText(bases[(idx + k + 1) % 64]!, `${model.name} ${layer} ${idx}`));
      }
    }
  }
  return { dirs, files, bytes };
}

function timeShell(cmd: string): number {
  const t = process.hrtime.bigint();
  execFileSync('bash', ['-c', cmd], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'metamer-bench-import-'));
  try {
    const t0 = Date.now();
    const tree = await makeTree(path.join(work, 'tree'));
    process.stderr.write(
      `tree: ${tree.files} files, ${(tree.bytes / 1e6).toFixed(0)} MB, made in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const rounds: {
      files: number;
      baseline_s: number;
      import_s: number;
      ratio: number;
      peak_rss_mb: number;
      live_heap_mb: number | null;
    }[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const copy = path.join(work, `copy${r}`);
      const baseline = timeShell(
        `cp -r '${path.join(work, 'tree')}' '${copy}' && find '${copy}' -type f -print0 | xargs -0 sha256sum > /dev/null`,
      );
      await fs.rm(copy, { recursive: true, force: true });

      const blobs = new BlobStore(path.join(work, `blobs${r}`));
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const t = process.hrtime.bigint();
      const { report, manifest } = await importStimulusSet(tree.dirs, { from: 'model-metamers', name: 'bench', blobs });
      const importS = Number(process.hrtime.bigint() - t) / 1e9;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      // With --expose-gc: what stays live once the import is done (the manifest, kept on purpose).
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const live = gc ? Math.round(process.memoryUsage().heapUsed / 1e6) : null;
      void manifest.items.length;
      await fs.rm(blobs.root, { recursive: true, force: true });
      const row = {
        round: r,
        files: report.files,
        blobs_added: report.blobs_added,
        baseline_s: +baseline.toFixed(2),
        import_s: +importS.toFixed(2),
        ratio: +(importS / baseline).toFixed(2),
        peak_rss_mb: Math.round(peak / 1e6),
        live_heap_mb: live,
      };
      rounds.push(row);
      process.stdout.write(JSON.stringify(row) + '\n');
    }
    const last = rounds.at(-1)!;
    process.stdout.write(
      `import of ${tree.files} files (${(tree.bytes / 1e6).toFixed(0)} MB, ${SIZE}px PNG): ${last.import_s} s; ` +
        `cp -r + sha256sum: ${last.baseline_s} s; ratio ${last.ratio}; peak RSS ${last.peak_rss_mb} MB; node ${process.version}, ${os.cpus().length} CPUs\n` +
        'baseline: `cp -r` of the tree and `sha256sum` of every copied file (each file read, written and hashed, as the import does); it does NOT\n' +
        'parse headers, check the layout, deduplicate, stage or write a manifest. Rounds alternate baseline and import.\n\n' +
        '| date | tree | files read | baseline (s) | import (s) | **ratio import / baseline** | peak RSS | live heap after |\n' +
        '| --- | --- | --- | --- | --- | --- | --- | --- |\n' +
        `| ${new Date().toISOString().slice(0, 10)} (load ${os
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(' / ')}) | ${SIZE} px PNG, ${(tree.bytes / 1e9).toFixed(2)} GB | ${last.files} | ` +
        `${rounds.map((x) => x.baseline_s).join(' / ')} | ${rounds.map((x) => x.import_s).join(' / ')} | **${rounds.map((x) => x.ratio.toFixed(2)).join(' / ')}** | ` +
        `${Math.max(...rounds.map((x) => x.peak_rss_mb))} MB | ${last.live_heap_mb === null ? '– (run with --expose-gc)' : `${last.live_heap_mb} MB`} |\n`,
    );
  } finally {
    if (!values.keep) await fs.rm(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}

await main();
