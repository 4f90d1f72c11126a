/**
 * A procedural image data set: 16 shape categories drawn at a random position, size, rotation
 * and grey level, on a shaded background with clutter (small blobs and strokes) and pixel noise.
 * Grey-scale, because the byte budget of the committed set (≤ 15 MB with the audio set) cannot
 * hold ~800 incompressible RGB metamers; intensity and contrast polarity vary instead of hue.
 * Values are in [0, 1], row-major, one channel.
 */
import type { SeededRandom } from './seeded-random.ts';
import type { LabelledExample } from './training.ts';

type Inside = (u: number, v: number) => boolean;

function polygon(points: Array<[number, number]>): Inside {
  return (u, v) => {
    let inside = false;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (yi > v !== yj > v && u < ((xj - xi) * (v - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

function regular(n: number, radius: number, phase: number): Array<[number, number]> {
  return Array.from({ length: n }, (_, k) => {
    const a = phase + (2 * Math.PI * k) / n;
    return [radius * Math.cos(a), radius * Math.sin(a)] as [number, number];
  });
}

const triangle = polygon(regular(3, 1, -Math.PI / 2));
const star = polygon(
  Array.from({ length: 10 }, (_, k) => {
    const r = k % 2 === 0 ? 1 : 0.42;
    const a = -Math.PI / 2 + (Math.PI * k) / 5;
    return [r * Math.cos(a), r * Math.sin(a)] as [number, number];
  }),
);
const arrow = polygon([
  [-1, -0.2],
  [0.15, -0.2],
  [0.15, -0.6],
  [1, 0],
  [0.15, 0.6],
  [0.15, 0.2],
  [-1, 0.2],
]);

/** Each shape lives in the unit disc of its own frame (u right, v down). */
export const IMAGE_SHAPES: ReadonlyArray<{ category: string; inside: Inside }> = [
  { category: 'disk', inside: (u, v) => u * u + v * v <= 0.8 },
  {
    category: 'ring',
    inside: (u, v) => {
      const r = u * u + v * v;
      return r <= 1 && r >= 0.4;
    },
  },
  { category: 'square', inside: (u, v) => Math.abs(u) <= 0.72 && Math.abs(v) <= 0.72 },
  { category: 'frame', inside: (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.75 && Math.max(Math.abs(u), Math.abs(v)) >= 0.45 },
  { category: 'triangle', inside: triangle },
  { category: 'star', inside: star },
  { category: 'cross', inside: (u, v) => (Math.abs(u) <= 0.25 && Math.abs(v) <= 0.95) || (Math.abs(v) <= 0.25 && Math.abs(u) <= 0.95) },
  { category: 'crescent', inside: (u, v) => u * u + v * v <= 0.85 && (u - 0.4) ** 2 + v * v > 0.5 },
  { category: 'hourglass', inside: (u, v) => Math.abs(v) <= 0.9 && Math.abs(u) <= 0.8 * Math.abs(v) + 0.06 },
  { category: 'arrow', inside: arrow },
  { category: 'bar', inside: (u, v) => Math.abs(u) <= 1 && Math.abs(v) <= 0.2 },
  { category: 'grating', inside: (u, v) => u * u + v * v <= 1 && Math.sin(u * Math.PI * 2.5) > 0 },
  {
    category: 'checkerboard',
    inside: (u, v) => Math.abs(u) < 0.8 && Math.abs(v) < 0.8 && (Math.floor((u + 0.8) / 0.4) + Math.floor((v + 0.8) / 0.4)) % 2 === 0,
  },
  {
    category: 'bullseye',
    inside: (u, v) => {
      const r = Math.sqrt(u * u + v * v);
      return r <= 0.28 || (r >= 0.55 && r <= 0.85);
    },
  },
  {
    category: 'dots',
    inside: (u, v) => {
      const du = u - 0.6 * Math.round(u / 0.6);
      const dv = v - 0.6 * Math.round(v / 0.6);
      return Math.abs(u) < 0.9 && Math.abs(v) < 0.9 && du * du + dv * dv <= 0.034;
    },
  },
  {
    category: 'zigzag',
    inside: (u, v) => {
      const phase = (u + 1) / 0.5;
      const tri = Math.abs(phase - 2 * Math.floor(phase / 2) - 1) * 1.1 - 0.55;
      return Math.abs(u) <= 1 && Math.abs(v - tri) <= 0.16;
    },
  },
];

export const IMAGE_CATEGORIES: readonly string[] = IMAGE_SHAPES.map((s) => s.category);

const SUPERSAMPLE = [0.25, 0.75];

/** Draws one example of `label` at size×size. */
export function drawImage(label: number, size: number, rng: SeededRandom): Float32Array {
  const shape = IMAGE_SHAPES[label];
  if (!shape) throw new Error(`no image category ${label}`);
  const img = new Float32Array(size * size);

  // Background: a base grey with a gentle linear shading.
  const base = rng.uniform(0.15, 0.85);
  const gx = rng.uniform(-0.12, 0.12);
  const gy = rng.uniform(-0.12, 0.12);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) img[y * size + x] = base + gx * (x / size - 0.5) + gy * (y / size - 0.5);
  }

  // Clutter first, so the shape is drawn over it.
  const clutter = 1 + rng.int(3);
  for (let k = 0; k < clutter; k++) {
    const level = rng.uniform(0, 1);
    const cx = rng.uniform(0, size);
    const cy = rng.uniform(0, size);
    const angle = rng.uniform(0, Math.PI);
    if (rng.bool()) {
      const ra = rng.uniform(0.03, 0.07) * size;
      const rb = rng.uniform(0.02, 0.05) * size;
      paint(img, size, (u, v) => (u / ra) ** 2 + (v / rb) ** 2 <= 1, cx, cy, angle, 1, level, 0.7);
    } else {
      const half = rng.uniform(0.08, 0.2) * size;
      const width = rng.uniform(0.012, 0.025) * size;
      paint(img, size, (u, v) => Math.abs(u) <= half && Math.abs(v) <= width, cx, cy, angle, 1, level, 0.7);
    }
  }

  // The shape: contrast of either polarity, at least 0.3 from the background.
  let fg = base + (rng.bool() ? 1 : -1) * rng.uniform(0.3, 0.6);
  if (fg > 1 || fg < 0) fg = base > 0.5 ? base - rng.uniform(0.3, 0.5) : base + rng.uniform(0.3, 0.5);
  const radius = rng.uniform(0.22, 0.34) * size;
  const cx = size * rng.uniform(0.35, 0.65);
  const cy = size * rng.uniform(0.35, 0.65);
  paint(img, size, shape.inside, cx, cy, rng.uniform(0, 2 * Math.PI), radius, fg, 1);

  const noise = rng.uniform(0.01, 0.04);
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, Math.max(0, img[i]! + noise * rng.gaussian()));
  return img;
}

/** Blends `level` into img where `inside` holds, with 2×2 supersampling for anti-aliased edges. */
function paint(
  img: Float32Array,
  size: number,
  inside: Inside,
  cx: number,
  cy: number,
  angle: number,
  scale: number,
  level: number,
  opacity: number,
): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const reach = scale * 1.5 + 2;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(size - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(size - 1, Math.ceil(cy + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (const sy of SUPERSAMPLE) {
        for (const sx of SUPERSAMPLE) {
          const dx = x + sx - cx;
          const dy = y + sy - cy;
          const u = (cos * dx + sin * dy) / scale;
          const v = (-sin * dx + cos * dy) / scale;
          if (inside(u, v)) hits++;
        }
      }
      if (hits > 0) {
        const a = (opacity * hits) / 4;
        const i = y * size + x;
        img[i] = img[i]! * (1 - a) + level * a;
      }
    }
  }
}

/** `perCategory` examples of every category, interleaved by category, from one seeded stream. */
export function imageExamples(perCategory: number, size: number, rng: SeededRandom): LabelledExample[] {
  const out: LabelledExample[] = [];
  for (let n = 0; n < perCategory; n++) {
    for (let label = 0; label < IMAGE_SHAPES.length; label++) out.push({ input: drawImage(label, size, rng), label });
  }
  return out;
}

/**
 * One of the 8 symmetries of the square (rotations by 90° and mirror images): every category is
 * defined up to rotation and reflection, so these are free, exact extra training examples.
 */
export function dihedral(img: Float32Array, size: number, k: number): Float32Array {
  const out = new Float32Array(img.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sx = x;
      let sy = y;
      if (k & 1) sx = size - 1 - sx;
      if (k & 2) sy = size - 1 - sy;
      if (k & 4) [sx, sy] = [sy, sx];
      out[y * size + x] = img[sy * size + sx]!;
    }
  }
  return out;
}

export function imageAugmentation(size: number): (input: Float32Array, rng: SeededRandom) => Float32Array {
  return (input, rng) => dihedral(input, size, rng.int(8));
}
