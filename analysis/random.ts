/**
 * A seeded pseudo-random generator for resampling and permutation tests: xoshiro128** (Blackman &
 * Vigna 2018, https://prng.di.unimi.it/) seeded through splitmix32, so that the same seed gives the
 * same bootstrap CIs and permutation p-values on every machine. 32-bit state keeps every step in
 * JavaScript's int32 arithmetic (no BigInt), which is what makes 10^8 draws per second possible.
 */
export class Random {
  // The state lives in an Int32Array: 32-bit values in object fields would be boxed as heap
  // numbers (V8's small integers have 31 bits), costing an allocation per step.
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    // splitmix32 spreads any integer seed (even 0) over the 128-bit state; an all-zero state
    // would make xoshiro emit zeros forever.
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = z ^ (z >>> 16);
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[3] = 1;
  }

  /** A generator with the given raw state (for checking against the reference implementation). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Random {
    const r = new Random(0);
    r.s.set([s0, s1, s2, s3]);
    return r;
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s1;
    s[1] = s1 ^ s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 32 bits of resolution (plenty for binomial inversion). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n) without bias, by Lemire's multiply-and-reject method ("Fast random
   * integer generation in an interval", ACM TOMACS 29:3, 2019): the high 32 bits of x·n, rejecting
   * the few x whose low bits fall below 2^32 mod n. x·n stays exact in a double for n < 2^21, and
   * this avoids the floating-point remainder (a libm call) on every draw.
   */
  nextBelow(n: number): number {
    if (n > 0x1fffff) return this.nextBelowLarge(n);
    let m = this.nextU32() * n;
    let hi = Math.floor(m / 4294967296);
    let lo = m - hi * 4294967296;
    if (lo < n) {
      if (n !== this.thresholdFor) {
        this.thresholdFor = n;
        this.threshold = (4294967296 - n) % n;
      }
      while (lo < this.threshold) {
        m = this.nextU32() * n;
        hi = Math.floor(m / 4294967296);
        lo = m - hi * 4294967296;
      }
    }
    return hi;
  }

  private thresholdFor = -1;
  private threshold = 0;

  private nextBelowLarge(n: number): number {
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
