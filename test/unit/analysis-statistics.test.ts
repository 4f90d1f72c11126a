/**
 * The statistics kernels, each against hand-worked small cases and, for the ANOVAs, against
 * published worked examples computed by independent software.
 */
import { describe, expect, it } from 'vitest';
import { binomialCdf, bootstrapConditionMeans } from '../../analysis/bootstrap.ts';
import { mean, quantileSorted, sampleSd, sem } from '../../analysis/descriptive.ts';
import { fUpperTail, incompleteBeta, logGamma } from '../../analysis/f-distribution.ts';
import { mixedAnova } from '../../analysis/mixed-anova.ts';
import { permutationP, Random } from '../../analysis/random.ts';
import { rmAnova2 } from '../../analysis/rm-anova.ts';
import { midRanks, spearman } from '../../analysis/spearman.ts';

describe('descriptive statistics', () => {
  it('uses the sample SD (n − 1) for the SEM', () => {
    // Values 1, 2, 3, 6: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, SD = √(14/3).
    const x = [1, 2, 3, 6];
    expect(mean(x)).toBe(3);
    expect(sampleSd(x)).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(sem(x)).toBeCloseTo(Math.sqrt(14 / 3) / 2, 12);
    expect(Number.isNaN(sem([0.5]))).toBe(true);
  });

  it('interpolates quantiles like R type 7', () => {
    // R: quantile(c(1, 2, 4, 8), c(0.25, 0.5, 0.9)) = 1.75, 3, 6.8
    const s = [1, 2, 4, 8];
    expect(quantileSorted(s, 0.25)).toBeCloseTo(1.75, 12);
    expect(quantileSorted(s, 0.5)).toBeCloseTo(3, 12);
    expect(quantileSorted(s, 0.9)).toBeCloseTo(6.8, 12);
  });
});

describe('Random', () => {
  it('is deterministic per seed and different across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xa);
  });

  it('follows the xoshiro128** reference', () => {
    // From state (1, 2, 3, 4), by hand with the reference code (prng.di.unimi.it/xoshiro128starstar.c):
    // out1 = rotl(2·5, 7)·9 = 11520; the state becomes (7, 0, 1026, 12288), so out2 = 0; then
    // (12295, 1029, 1029, 25165824), so out3 = rotl(1029·5, 7)·9 = 5927040.
    const r = Random.fromState(1, 2, 3, 4);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040]);
  });

  it('draws integers below n uniformly (chi-square over 7 bins)', () => {
    const rng = new Random(7);
    const bins = new Array<number>(7).fill(0);
    const draws = 70_000;
    for (let i = 0; i < draws; i++) bins[rng.nextBelow(7)]!++;
    const expected = draws / 7;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    // 6 df: P(χ² > 22.46) = 0.001.
    expect(chi2).toBeLessThan(22.46);
  });

  it('counts the observed arrangement in permutation p-values', () => {
    expect(permutationP(0, 9999)).toBe(1 / 10000);
    expect(permutationP(9999, 9999)).toBe(1);
  });
});

describe('F distribution', () => {
  it('matches closed forms', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    // I_x(1, 1) = x; I_x(a, 1) = x^a.
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.3, 3, 1)).toBeCloseTo(0.027, 12);
    // d1 = 2: P(F ≥ f) = (1 + 2f/d2)^(−d2/2).
    expect(fUpperTail(3, 2, 10)).toBeCloseTo((1 + 0.6) ** -5, 12);
    // d1 = d2 = 1: F = t² with one df (Cauchy): P(F ≥ f) = 1 − (2/π)·atan(√f).
    expect(fUpperTail(25, 1, 1)).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(5), 12);
    expect(fUpperTail(0, 3, 7)).toBe(1);
  });
});

describe('rmAnova2 (two within-subject factors)', () => {
  it('decomposes a hand-worked 2 × 2 × 2 case', () => {
    // Subject 1: A1B1 = 1, A1B2 = 3, A2B1 = 5, A2B2 = 7; subject 2: 3, 5, 7, 13.
    // Grand mean 5.5; A means 3 and 8 → SS_A = 2·2·(2.5² + 2.5²) = 50; B means 4 and 7 → SS_B = 18;
    // every interaction residual is ±0.5 → SS_AB = SS_AS = SS_BS = 2; SS_T = 94 → SS_ABS = 2.
    // F_A = 50 / 2 = 25, F_B = 18 / 2 = 9, F_AB = 2 / 2 = 1 (all df 1, 1).
    const y = Float64Array.from([1, 3, 5, 7, 3, 5, 7, 13]);
    const r = rmAnova2(y, 2, 2, 2, ['A', 'B'], { permutations: 0, seed: 1 });
    const [A, B, AB] = r.effects;
    expect(A!.ss).toBeCloseTo(50, 10);
    expect(A!.ss_error).toBeCloseTo(2, 10);
    expect(A!.F).toBeCloseTo(25, 10);
    expect(A!.partial_eta2).toBeCloseTo(50 / 52, 10);
    expect(B!.F).toBeCloseTo(9, 10);
    expect(AB!.ss).toBeCloseTo(2, 10);
    expect(AB!.ss_error).toBeCloseTo(2, 10);
    expect(AB!.F).toBeCloseTo(1, 10);
    expect(A!.p_parametric).toBeCloseTo(1 - (2 / Math.PI) * Math.atan(5), 10);
    expect(A!.p_permutation).toBeNull();
    expect(AB!.effect).toBe('A:B');
  });

  it('reproduces the published F values of a worked example', () => {
    // Real Statistics, "Two within-subjects factors", Example 1 (C. Zaiontz,
    // https://real-statistics.com/anova-repeated-measures/two-within-subjects-factors/): 10 employees
    // rated in 3 skills (Product, Client, Action) before and after training. The same data ship as
    // pingouin's `rm_anova2` dataset, whose test suite checks them against jamovi:
    // MS = 828.81667, 682.61667, 112.21667 and F = 33.85228, 26.95919, 12.63227 for Time, Metric and
    // Time × Metric (pingouin tests/test_parametric.py, test_rm_anova2).
    const pre = {
      Product: [13, 12, 17, 12, 19, 6, 17, 18, 23, 18],
      Client: [12, 19, 19, 25, 27, 12, 18, 29, 30, 12],
      Action: [17, 18, 24, 25, 19, 6, 30, 36, 24, 24],
    };
    const post = {
      Product: [18, 6, 21, 18, 18, 6, 24, 22, 18, 24],
      Client: [30, 18, 31, 39, 28, 18, 36, 36, 38, 25],
      Action: [34, 30, 32, 40, 27, 23, 38, 40, 32, 34],
    };
    const n = 10;
    const y = new Float64Array(n * 2 * 3);
    const metrics = ['Product', 'Client', 'Action'] as const;
    for (let s = 0; s < n; s++) {
      metrics.forEach((m, j) => {
        y[(s * 2 + 0) * 3 + j] = pre[m][s]!;
        y[(s * 2 + 1) * 3 + j] = post[m][s]!;
      });
    }
    const r = rmAnova2(y, n, 2, 3, ['Time', 'Metric'], { permutations: 0, seed: 1 });
    const [time, metric, inter] = r.effects;
    expect(time!.ss / time!.df1).toBeCloseTo(828.81667, 4);
    expect(metric!.ss / metric!.df1).toBeCloseTo(682.61667, 4);
    expect(inter!.ss / inter!.df1).toBeCloseTo(112.21667, 4);
    expect(time!.F).toBeCloseTo(33.85228, 4);
    expect(metric!.F).toBeCloseTo(26.95919, 4);
    expect(inter!.F).toBeCloseTo(12.63227, 4);
    expect([time!.df1, time!.df2, metric!.df1, metric!.df2, inter!.df1, inter!.df2]).toEqual([1, 9, 2, 18, 2, 18]);
  });

  it('permutation p-values converge to the exact ones from full enumeration', () => {
    // 3 subjects × 2 × 2: permuting A within subject × B cells has 2^6 = 64 arrangements (swap
    // or not in each cell), and so does permuting B within subject × A cells. Enumerate them with
    // plain F computations and compare with the sampled p-values.
    const rng = new Random(21);
    const y = Float64Array.from({ length: 12 }, (_, i) => (i % 4 === 3 ? 0.3 : 0) + rng.nextFloat());
    const idx = (s: number, i: number, j: number) => (s * 2 + i) * 2 + j;
    const F = (v: Float64Array) => rmAnova2(v, 3, 2, 2, ['A', 'B'], { permutations: 0, seed: 1 }).effects.map((e) => e.F);
    const obs = F(y);
    let geA = 0;
    let geAB = 0;
    let geB = 0;
    for (let mask = 0; mask < 64; mask++) {
      const pa = Float64Array.from(y);
      const pb = Float64Array.from(y);
      for (let cell = 0; cell < 6; cell++) {
        if (!((mask >> cell) & 1)) continue;
        const s = Math.floor(cell / 2);
        const k = cell % 2;
        [pa[idx(s, 0, k)], pa[idx(s, 1, k)]] = [y[idx(s, 1, k)]!, y[idx(s, 0, k)]!]; // swap A at B = k
        [pb[idx(s, k, 0)], pb[idx(s, k, 1)]] = [y[idx(s, k, 1)]!, y[idx(s, k, 0)]!]; // swap B at A = k
      }
      const fa = F(pa);
      const fb = F(pb);
      if (fa[0]! >= obs[0]! - 1e-12) geA++;
      if (fa[2]! >= obs[2]! - 1e-12) geAB++;
      if (fb[1]! >= obs[1]! - 1e-12) geB++;
    }
    const r = rmAnova2(y, 3, 2, 2, ['A', 'B'], { permutations: 20_000, seed: 4 });
    expect(r.effects[0]!.p_permutation!).toBeCloseTo(geA / 64, 1);
    expect(Math.abs(r.effects[0]!.p_permutation! - geA / 64)).toBeLessThan(0.012);
    expect(Math.abs(r.effects[1]!.p_permutation! - geB / 64)).toBeLessThan(0.012);
    expect(Math.abs(r.effects[2]!.p_permutation! - geAB / 64)).toBeLessThan(0.012);
  });

  it('gives small permutation p-values to real effects and uniform-ish ones to noise', () => {
    const rng = new Random(3);
    const n = 12;
    const a = 2;
    const b = 4;
    const noise = (): number => (rng.nextFloat() - 0.5) * 0.2;
    const effectful = new Float64Array(n * a * b);
    const null_ = new Float64Array(n * a * b);
    for (let s = 0; s < n; s++) {
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < b; j++) {
          // A matters more at later levels of B: main effects of A and B plus an interaction.
          effectful[(s * a + i) * b + j] = 0.8 - 0.1 * j - (i === 1 ? 0.1 * j : 0) + noise();
          null_[(s * a + i) * b + j] = 0.5 + noise();
        }
      }
    }
    const opts = { permutations: 999, seed: 11 };
    const eff = rmAnova2(effectful, n, a, b, ['model', 'layer'], opts);
    for (const e of eff.effects) expect(e.p_permutation).toBe(1 / 1000);
    const nul = rmAnova2(null_, n, a, b, ['model', 'layer'], opts);
    for (const e of nul.effects) {
      expect(e.p_permutation).toBeGreaterThan(0.001);
      // Permutation and F-distribution p-values agree roughly when the F assumptions hold.
      expect(Math.abs(e.p_permutation! - e.p_parametric)).toBeLessThan(0.1);
    }
    // Same seed, same p-values.
    expect(rmAnova2(null_, n, a, b, ['model', 'layer'], opts).effects).toEqual(nul.effects);
  });
});

describe('mixedAnova (one between, one within factor)', () => {
  it('decomposes a hand-worked 2 groups × 2 subjects × 2 levels case', () => {
    // Group 1: s1 = [1, 3], s2 = [3, 7]; group 2: s3 = [5, 9], s4 = [9, 11]. Grand mean 6.
    // Subject means 2, 5, 7, 10 → SS_subjects = 2·(16 + 1 + 1 + 16) = 68; group means 3.5, 8.5 →
    // SS_G = 2·2·(2.5² + 2.5²) = 50, SS_S(G) = 18. Level means 4.5, 7.5 → SS_B = 4·(1.5² + 1.5²) = 18.
    // Cell means 2, 5 | 7, 10 are additive → SS_GB = 0. SS_T = 88, so SS_B×S(G) = 88 − 68 − 18 = 2.
    // F_G = 50 / (18/2) = 5.556 (1, 2); F_B = 18 / (2/2) = 18 (1, 2); F_GB = 0.
    const y = Float64Array.from([1, 3, 3, 7, 5, 9, 9, 11]);
    const r = mixedAnova(y, Int32Array.from([0, 0, 1, 1]), 2, 2, ['G', 'B'], { permutations: 0, seed: 1 });
    const [G, B, GB] = r.effects;
    expect(G!.ss).toBeCloseTo(50, 10);
    expect(G!.ss_error).toBeCloseTo(18, 10);
    expect(G!.F).toBeCloseTo(50 / 9, 10);
    expect([G!.df1, G!.df2]).toEqual([1, 2]);
    expect(B!.F).toBeCloseTo(18, 10);
    expect(B!.ss_error).toBeCloseTo(2, 10);
    expect(GB!.ss).toBeCloseTo(0, 10);
    expect(GB!.F).toBeCloseTo(0, 10);
  });

  it('reproduces the published F values of a worked example', () => {
    // Doncaster & Davey (2007), "Analysis of Variance and Covariance: How to Choose and Construct
    // Models for the Life Sciences", Cambridge UP, model 6.3 (two-factor model with repeated
    // measures on one cross factor, Y = B|S'(A)); data and table from the book's companion site,
    // https://www.southampton.ac.uk/~cpd/anovas/datasets/ ("Model 6_3 ... RM on one cross factor").
    // A (3 levels) between subjects, 4 subjects per level, B (2 levels) within:
    // SS: A 905.27, S(A) 84.56, B 0.19, B*A 167.65, B*S(A) 139.47;
    // F: A 48.17 (2, 9) p < 0.001, B 0.01 (1, 9) p = 0.915, B*A 5.41 (2, 9) p = 0.029.
    const data: [number, number, number, number][] = [
      [1, 1, 1, -3.8558],
      [2, 1, 1, 4.4076],
      [3, 1, 1, -4.1752],
      [4, 1, 1, 1.4913],
      [1, 1, 2, 5.9699],
      [2, 1, 2, 5.2141],
      [3, 1, 2, 9.1467],
      [4, 1, 2, 5.8209],
      [1, 2, 1, 9.4082],
      [2, 2, 1, 6.0296],
      [3, 2, 1, 15.3014],
      [4, 2, 1, 12.19],
      [1, 2, 2, 6.9754],
      [2, 2, 2, 14.3012],
      [3, 2, 2, 10.4266],
      [4, 2, 2, 2.3707],
      [1, 3, 1, 19.1834],
      [2, 3, 1, 18.3855],
      [3, 3, 1, 23.3385],
      [4, 3, 1, 21.9134],
      [1, 3, 2, 16.4482],
      [2, 3, 2, 11.6765],
      [3, 3, 2, 17.9727],
      [4, 3, 2, 15.176],
    ];
    const y = new Float64Array(12 * 2);
    const group = new Int32Array(12);
    for (const [S, A, B, Y] of data) {
      const subject = (A - 1) * 4 + (S - 1); // subjects are nested in A
      y[subject * 2 + (B - 1)] = Y;
      group[subject] = A - 1;
    }
    const r = mixedAnova(y, group, 3, 2, ['A', 'B'], { permutations: 0, seed: 1 });
    const [A, B, BA] = r.effects;
    expect(A!.ss).toBeCloseTo(905.27, 2);
    expect(A!.ss_error).toBeCloseTo(84.56, 2);
    expect(B!.ss).toBeCloseTo(0.19, 2);
    expect(BA!.ss).toBeCloseTo(167.65, 2);
    expect(BA!.ss_error).toBeCloseTo(139.47, 2);
    expect(A!.F).toBeCloseTo(48.17, 2);
    expect(B!.F).toBeCloseTo(0.01, 2);
    expect(BA!.F).toBeCloseTo(5.41, 2);
    expect([A!.df1, A!.df2, B!.df1, B!.df2, BA!.df1, BA!.df2]).toEqual([2, 9, 1, 9, 2, 9]);
    expect(A!.p_parametric).toBeLessThan(0.001);
    expect(B!.p_parametric).toBeCloseTo(0.915, 3);
    expect(BA!.p_parametric).toBeCloseTo(0.029, 3);
  });

  it('permutation p-values: tiny for a group effect, large without one', () => {
    const rng = new Random(5);
    const n = 16;
    const b = 3;
    const y = new Float64Array(n * b);
    const group = new Int32Array(n);
    for (let s = 0; s < n; s++) {
      group[s] = s < 8 ? 0 : 1;
      for (let j = 0; j < b; j++) y[s * b + j] = (group[s] === 1 ? 0.3 * j : 0) + rng.nextFloat() * 0.1;
    }
    const r = mixedAnova(y, group, 2, b, ['observer', 'layer'], { permutations: 1999, seed: 9 });
    expect(r.effects[0]!.p_permutation).toBeLessThan(0.01);
    expect(r.effects[2]!.p_permutation).toBeLessThan(0.01);
    const flat = Float64Array.from(y, (_, i) => 0.5 + ((i * 7919) % 13) / 100);
    const f = mixedAnova(flat, group, 2, b, ['observer', 'layer'], { permutations: 1999, seed: 9 });
    expect(f.effects[0]!.p_permutation).toBeGreaterThan(0.05);
  });
});

describe('spearman', () => {
  it('ranks ties by their mid-rank', () => {
    expect(Array.from(midRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
  });

  it('matches hand-worked values', () => {
    // No ties: d = (−1, 1, −1, 1, 0), Σd² = 4, ρ = 1 − 6·4 / (5·24) = 0.8.
    expect(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], { permutations: 0, seed: 1 }).rho).toBeCloseTo(0.8, 12);
    // Ties in x: ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): Σxy = 4.5, Σx² = 4.5, Σy² = 5 → ρ = 4.5 / √22.5.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4], { permutations: 0, seed: 1 }).rho).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
  });

  it('estimates the exact two-sided permutation p-value', () => {
    // Of the 120 orderings of 5 ranks, 8 have ρ ≥ 0.8 (Σd² ∈ {0, 2, 4}: 1 + 4 + 3) and 8 have ρ ≤ −0.8,
    // so the exact two-sided p is 16/120.
    const r = spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], { permutations: 20_000, seed: 2 });
    expect(r.p_permutation!).toBeGreaterThan(16 / 120 - 0.01);
    expect(r.p_permutation!).toBeLessThan(16 / 120 + 0.01);
  });
});

describe('bootstrap', () => {
  it('hand-worked: two participants give CI = [lower, upper] value', () => {
    // Resampling {0.2, 0.6} gives means 0.2, 0.4, 0.6 with probabilities ¼, ½, ¼: the 2.5% and
    // 97.5% quantiles of the replicates are 0.2 and 0.6.
    const r = bootstrapConditionMeans(Uint32Array.from([1, 3]), Uint32Array.from([5, 5]), 2, 1, {
      iterations: 10_000,
      seed: 1,
      level: 0.95,
    });
    expect(r.low[0]).toBeCloseTo(0.2, 12);
    expect(r.high[0]).toBeCloseTo(0.6, 12);
  });

  it('skips absent cells and returns NaN for a condition nobody has', () => {
    // Condition 0: 0.5 and 1.0 (participant 3 absent); condition 1: nobody.
    const k = Uint32Array.from([1, 0, 2, 0, 0, 0]);
    const n = Uint32Array.from([2, 0, 2, 0, 0, 0]);
    const r = bootstrapConditionMeans(k, n, 3, 2, { iterations: 2000, seed: 4, level: 0.95 });
    expect(r.low[0]).toBeCloseTo(0.5, 12);
    expect(r.high[0]).toBeCloseTo(1, 12);
    expect(Number.isNaN(r.low[1]!)).toBe(true);
  });

  it('second stage: one participant with 5/10 gives the Binomial(10, ½) quantiles', () => {
    // P(X ≤ 1) = 0.011 < 0.025 < P(X ≤ 2) = 0.055, so the 2.5% quantile is 2/10; by symmetry 8/10.
    const r = bootstrapConditionMeans(Uint32Array.from([5]), Uint32Array.from([10]), 1, 1, {
      iterations: 10_000,
      seed: 6,
      level: 0.95,
      trialLevel: true,
    });
    expect(r.low[0]).toBeCloseTo(0.2, 12);
    expect(r.high[0]).toBeCloseTo(0.8, 12);
  });

  it('is reproducible per seed and varies across seeds', () => {
    // 40 participants with 97 trials each: replicate means are nearly continuous, so two seeds
    // cannot land on the same quantiles.
    const k = Uint32Array.from({ length: 40 }, (_, i) => (i * 37) % 98);
    const n = new Uint32Array(40).fill(97);
    const opts = { iterations: 3000, seed: 1, level: 0.95 };
    const a = bootstrapConditionMeans(k, n, 40, 1, opts);
    expect(bootstrapConditionMeans(k, n, 40, 1, opts)).toEqual(a);
    const b = bootstrapConditionMeans(k, n, 40, 1, { ...opts, seed: 2 });
    expect(b.low[0]).not.toBe(a.low[0]);
    expect(Math.abs(b.low[0]! - a.low[0]!)).toBeLessThan(0.03);
  });

  it('binomial CDF matches hand values', () => {
    expect(Array.from(binomialCdf(2, 0.5))).toEqual([0.25, 0.75, 1]);
    const c = binomialCdf(3, 0.9); // pmf 0.001, 0.027, 0.243, 0.729
    expect(c[0]).toBeCloseTo(0.001, 12);
    expect(c[1]).toBeCloseTo(0.028, 12);
    expect(c[2]).toBeCloseTo(0.271, 12);
  });

  it('covers the true mean about 95% of the time on simulated participants', () => {
    // 400 simulated studies of 30 participants, each with 12 trials at a participant-specific
    // p ~ U(0.45, 0.85) (true mean 0.65). Percentile CIs are known to under-cover slightly at this
    // n (Efron & Tibshirani 1993, §13.3), so accept 0.91–0.98 (± 2.5 binomial SE around 0.95).
    const rng = new Random(2024);
    const studies = 400;
    const P = 30;
    const trials = 12;
    let covered = 0;
    for (let t = 0; t < studies; t++) {
      const k = new Uint32Array(P);
      const n = new Uint32Array(P).fill(trials);
      for (let p = 0; p < P; p++) {
        const prob = 0.45 + 0.4 * rng.nextFloat();
        for (let i = 0; i < trials; i++) if (rng.nextFloat() < prob) k[p]!++;
      }
      const r = bootstrapConditionMeans(k, n, P, 1, { iterations: 1000, seed: t + 1, level: 0.95 });
      if (r.low[0]! <= 0.65 && 0.65 <= r.high[0]!) covered++;
    }
    const coverage = covered / studies;
    expect(coverage).toBeGreaterThan(0.91);
    expect(coverage).toBeLessThan(0.98);
  });
});
