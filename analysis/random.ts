/**
 * A seeded pseudo-random generator for resampling and permutation tests: xoshiro128** (Blackman &
 * Vigna 2018, https://prng.di.unimi.it/) seeded through splitmix32, so that the same seed gives the
 * same bootstrap CIs and permutation p-values on every machine. 32-bit state keeps every step in
 * JavaScript's int32 arithmetic (no BigInt), which is what makes 10^8 draws per second possible.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads any integer seed (even 0) over the 128-bit state; an all-zero state
    // would make xoshiro emit zeros forever.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 32 bits of resolution (plenty for binomial inversion). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n), n ≤ 2^32, without modulo bias: draws at or above the largest
   * multiple of n below 2^32 are rejected (at most one in two draws, usually far fewer).
   */
  nextBelow(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Fisher–Yates shuffle of `a[from, from + len)` in place. */
  shuffle(a: Int32Array | Float64Array | Uint32Array, from = 0, len = a.length - from): void {
    for (let i = len - 1; i > 0; i--) {
      const j = this.nextBelow(i + 1);
      const t = a[from + i]!;
      a[from + i] = a[from + j]!;
      a[from + j] = t;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * The permutation p-value (1 + #{null ≥ observed}) / (1 + N): counting the observed arrangement as
 * one of the permutations keeps p > 0 and the test exact (Phipson & Smyth 2010, "Permutation
 * p-values should never be zero", Stat Appl Genet Mol Biol 9:39). `atLeast` counts null statistics
 * ≥ observed within a relative tolerance, so that rearrangements that reproduce the observed data
 * exactly (e.g. the duplicated natural level) are not lost to floating-point noise.
 */
export function permutationP(atLeast: number, permutations: number): number {
  return (1 + atLeast) / (1 + permutations);
}

/** `candidate ≥ observed` up to rounding error in sums of squares. */
export function atLeastAsExtreme(candidate: number, observed: number): boolean {
  return candidate >= observed - 1e-9 * Math.max(1, Math.abs(observed));
}
