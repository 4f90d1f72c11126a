/**
 * The one source of randomness in the demo generator, so that the same seed writes byte-identical
 * stimuli; `Math.random` is never used. The bits come from the project's seeded generator for
 * everything but session plans (analysis/random.ts: xoshiro128**, seeded through splitmix32); this
 * class adds what the generator draws: textual seeds, named forks, uniforms, Gaussians, picks.
 */
import { Random } from '../../../analysis/random.ts';

export class SeededRandom {
  private readonly bits: Random;
  private spareGaussian: number | null = null;

  constructor(seed: number | string) {
    this.bits = new Random(typeof seed === 'number' ? seed >>> 0 : hashString(seed));
  }

  /** An independent stream for a named purpose, so adding draws in one place never shifts another. */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.nextUint32()}:${label}`);
  }

  nextUint32(): number {
    return this.bits.nextU32();
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), without bias. */
  int(n: number): number {
    return this.bits.nextBelow(n);
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Standard normal by Box–Muller (the pair's second value is kept for the next call). */
  gaussian(): number {
    if (this.spareGaussian !== null) {
      const g = this.spareGaussian;
      this.spareGaussian = null;
      return g;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h >>> 0;
}
