import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { generateNoiseMasks, pinkNoisePlane } from '../../stimuli/noise-masks.ts';
import { mulberry32 } from '../../stimuli/random.ts';

/** Correlation between pixels `lag` apart horizontally. */
function lagCorrelation(v: Float64Array, width: number, height: number, lag: number): number {
  let sxy = 0;
  let sxx = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x + lag < width; x++) {
      sxy += v[y * width + x]! * v[y * width + x + lag]!;
      sxx += v[y * width + x]! ** 2;
    }
  }
  return sxy / sxx;
}

describe('noise masks', () => {
  it('are deterministic PNGs of the requested size and count, all different', () => {
    const a = generateNoiseMasks(50, 30, 8);
    const b = generateNoiseMasks(50, 30, 8);
    expect(a).toHaveLength(8);
    expect(a.map((x) => x.toString('base64'))).toEqual(b.map((x) => x.toString('base64')));
    expect(new Set(a.map((x) => x.toString('base64'))).size).toBe(8);
    const png = PNG.sync.read(a[0]!);
    expect([png.width, png.height]).toEqual([50, 30]);
  });

  it('have a 1/f-like spectrum: correlated at every scale, unlike white noise', () => {
    const w = 128;
    const v = pinkNoisePlane(w, w, mulberry32(7));
    // White noise would give ~0 at every lag; brown (1/f²) noise stays near 1 at small lags.
    // Equal energy per octave makes correlation fall off roughly with log(lag).
    const r1 = lagCorrelation(v, w, w, 1);
    const r4 = lagCorrelation(v, w, w, 4);
    const r16 = lagCorrelation(v, w, w, 16);
    expect(r1).toBeGreaterThan(0.6);
    expect(r1).toBeLessThan(0.97);
    expect(r4).toBeLessThan(r1 - 0.1);
    expect(r16).toBeLessThan(r4 - 0.1);
    expect(r16).toBeGreaterThan(0.05);
  });

  it('use the full intensity range around mid-grey', () => {
    const png = PNG.sync.read(generateNoiseMasks(64, 64, 1)[0]!);
    let sum = 0;
    let min = 255;
    let max = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      for (let c = 0; c < 3; c++) {
        const v = png.data[i + c]!;
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    expect(sum / ((png.data.length / 4) * 3)).toBeGreaterThan(110);
    expect(sum / ((png.data.length / 4) * 3)).toBeLessThan(145);
    expect(min).toBeLessThan(40);
    expect(max).toBeGreaterThan(215);
  });
});
