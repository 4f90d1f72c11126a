/**
 * Noise masks shown right after each image (docs/design.md §5: image 300 ms, then mask 300 ms), generated
 * on import when a set brings none.
 *
 * Which noise: multi-scale "pink" (1/f amplitude) noise, made by summing octaves of smoothly
 * interpolated random grids, one octave per doubling of the grid spacing, all with the same
 * amplitude. In 2-D a 1/f amplitude spectrum puts equal energy in every octave band (the number
 * of frequencies in a band grows as f², their power falls as 1/f²), so equal-variance octaves
 * give the 1/f spectrum. Natural images have
 * a roughly 1/f amplitude spectrum, so a 1/f mask puts energy at every spatial frequency where
 * the stimulus has it; white noise puts most of its energy at the highest frequencies, which
 * vision integrates away, and leaves the image's coarse structure (its afterimage) unmasked.
 * Phase-scrambling the set's own images would also give a 1/f spectrum, but the amplitude spectrum
 * it keeps carries category information (the "spectral signature" of scenes and objects), so a
 * mask from the stimuli could leak the answer; generated noise carries none.
 *
 * Deterministic: the same size, count and seed give byte-identical PNGs, so re-importing a set
 * gives the same manifest.
 */
import { PNG } from 'pngjs';
import { mulberry32 } from './random.ts';

export const DEFAULT_MASK_COUNT = 8;
export const DEFAULT_MASK_SEED = 20230001;
/** How generated masks are named in a manifest (they are not files of the set's folder). */
export const GENERATED_MASK_PREFIX = 'generated/';

/** One plane of 1/f noise, zero mean, unit standard deviation. */
export function pinkNoisePlane(width: number, height: number, rand: () => number): Float64Array {
  const out = new Float64Array(width * height);
  const smooth = (t: number): number => t * t * (3 - 2 * t);
  for (let cell = 1; cell <= Math.max(width, height); cell *= 2) {
    const gw = Math.ceil(width / cell) + 2;
    const gh = Math.ceil(height / cell) + 2;
    const grid = new Float64Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rand() * 2 - 1;
    // Random sub-cell offset so octaves do not share grid lines (which would show as a lattice).
    const ox = rand() * cell;
    const oy = rand() * cell;
    for (let y = 0; y < height; y++) {
      const gy = (y + oy) / cell;
      const y0 = Math.floor(gy);
      const fy = smooth(gy - y0);
      for (let x = 0; x < width; x++) {
        const gx = (x + ox) / cell;
        const x0 = Math.floor(gx);
        const fx = smooth(gx - x0);
        const a = grid[y0 * gw + x0]!;
        const b = grid[y0 * gw + x0 + 1]!;
        const c = grid[(y0 + 1) * gw + x0]!;
        const d = grid[(y0 + 1) * gw + x0 + 1]!;
        const v = a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
        out[y * width + x]! += v;
      }
    }
  }
  let mean = 0;
  for (const v of out) mean += v;
  mean /= out.length;
  let ss = 0;
  for (const v of out) ss += (v - mean) ** 2;
  const sd = Math.sqrt(ss / out.length) || 1;
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) / sd;
  return out;
}

/**
 * `count` RGB PNG masks of the given size. Each has a shared luminance plane plus weaker
 * independent colour planes, so it masks colour as well as shape; ±2.5 SD spans 0–255.
 */
export function generateNoiseMasks(width: number, height: number, count = DEFAULT_MASK_COUNT, seed = DEFAULT_MASK_SEED): Buffer[] {
  const masks: Buffer[] = [];
  for (let m = 0; m < count; m++) {
    const rand = mulberry32((seed ^ Math.imul(m + 1, 0x9e3779b1) ^ Math.imul(width, 0x85ebca6b) ^ height) >>> 0);
    const lum = pinkNoisePlane(width, height, rand);
    const chroma = [0, 1, 2].map(() => pinkNoisePlane(width, height, rand));
    const png = new PNG({ width, height, colorType: 2, inputHasAlpha: true });
    for (let i = 0; i < width * height; i++) {
      for (let ch = 0; ch < 3; ch++) {
        const z = 0.8 * lum[i]! + 0.6 * chroma[ch]![i]!;
        png.data[i * 4 + ch] = Math.max(0, Math.min(255, Math.round(127.5 + z * (127.5 / 2.5))));
      }
      png.data[i * 4 + 3] = 255;
    }
    masks.push(PNG.sync.write(png, { colorType: 2 }));
  }
  return masks;
}
