/**
 * Throughput of the matrix product behind every convolution, blocked kernel against the
 * textbook loop, at the shapes of the demo networks' layers. Run on its own with
 * `node --import tsx stimuli/demo/generator/kernel-benchmark.ts`; the generator also runs a
 * short pass so the card reports the figures of the machine that made the sets.
 */
import { pathToFileURL } from 'node:url';
import { SeededRandom } from './seeded-random.ts';
import { gemmNN, gemmReference } from './tensor-kernels.ts';

export interface KernelFigure {
  shape: string;
  blockedGmacs: number;
  referenceGmacs: number;
  ratio: number;
}

/** [M, N, K] of forward products: (output channels, output positions, filter length). */
export const BENCH_SHAPES: Array<[number, number, number]> = [
  [12, 1024, 25], // image conv1
  [16, 256, 108], // image conv2
  [48, 64, 144], // image conv3
  [64, 16, 432], // image conv4
  [12, 1000, 48], // audio conv1
  [24, 250, 72], // audio conv2
  [32, 125, 120], // audio conv3
];

function rate(fn: () => void, macs: number, seconds: number): number {
  for (let i = 0; i < 3; i++) fn();
  let reps = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    fn();
    reps++;
  }
  return (reps * macs) / ((performance.now() - start) / 1000) / 1e9;
}

export function benchmarkKernels(secondsPerShape = 0.3): KernelFigure[] {
  const rng = new SeededRandom('bench');
  return BENCH_SHAPES.map(([M, N, K]) => {
    const A = Float32Array.from({ length: M * K }, () => rng.gaussian());
    const B = Float32Array.from({ length: K * N }, () => rng.gaussian());
    const C = new Float32Array(M * N);
    const blocked = rate(() => gemmNN(M, N, K, A, B, C), M * N * K, secondsPerShape);
    const reference = rate(() => gemmReference(M, N, K, A, B, C), M * N * K, secondsPerShape);
    return {
      shape: `${M}×${K} · ${K}×${N}`,
      blockedGmacs: Number(blocked.toFixed(2)),
      referenceGmacs: Number(reference.toFixed(2)),
      ratio: Number((blocked / reference).toFixed(2)),
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of benchmarkKernels(1)) {
    console.log(
      `${f.shape.padEnd(18)} blocked ${f.blockedGmacs.toFixed(2)} GMAC/s  reference ${f.referenceGmacs.toFixed(2)} GMAC/s  ratio ${f.ratio.toFixed(2)}×`,
    );
  }
}
