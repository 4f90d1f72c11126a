/**
 * Seeded randomness for trial plans, noise masks and test content. mulberry32 is small, fast and passes the tests that matter
 * for shuffling a few hundred items; plans must be reproducible from (study seed, slot) forever,
 * so this generator must never change once studies have run on it. Everything else that needs
 * seeded bits (bootstrap, permutations, the demo generator) uses analysis/random.ts.
 */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed (so that seed+1 and slot+1 do not collide). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995) >>> 0;
  }
  return h >>> 0;
}

/** Fisher–Yates on a copy. */
export function seededShuffle<T>(items: readonly T[], seedOrRng: number | Rng): T[] {
  const rng = typeof seedOrRng === 'number' ? mulberry32(seedOrRng) : seedOrRng;
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
