/**
 * Noise masks for the image task (shown right after each stimulus to stop further processing of
 * its after-image): 1/f ("pink") noise, summed over octaves of bilinearly upsampled random grids
 * with amplitude proportional to the octave's scale, stretched to the full grey range.
 */
import type { SeededRandom } from './seeded-random.ts';

export function pinkNoiseMask(size: number, rng: SeededRandom): Float32Array {
  const out = new Float32Array(size * size);
  for (let cells = 2; cells <= size; cells *= 2) {
    const grid = Float32Array.from({ length: (cells + 1) * (cells + 1) }, () => rng.gaussian());
    const amplitude = 1 / cells;
    for (let y = 0; y < size; y++) {
      const gy = (y / size) * cells;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      for (let x = 0; x < size; x++) {
        const gx = (x / size) * cells;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const at = (i: number, j: number): number => grid[i * (cells + 1) + j]!;
        const v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        out[y * size + x] = out[y * size + x]! + amplitude * v;
      }
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of out) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - lo) / (hi - lo || 1);
  return out;
}
