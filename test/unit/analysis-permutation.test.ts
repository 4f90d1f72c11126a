/**
 * Permutation schemes (permutation.ts): the fast kernels give the same statistic as the full
 * table, the paper scheme's p-values converge to the exact ones from full enumeration of its
 * shuffles (computed here independently, by re-fitting rmAnovaTable to every arrangement), and the
 * restricted scheme is the earlier implementation, unchanged.
 */
import { describe, expect, it } from 'vitest';
import { designAnova } from '../../analysis/design-anova.ts';
import { AnalysisInputError } from '../../analysis/input-error.ts';
import { EffectKernel, paperP } from '../../analysis/permutation.ts';
import { Random } from '../../analysis/random.ts';
import { rmAnova2 } from '../../analysis/rm-anova.ts';
import { type RmDesign, rmAnovaTable, withinTerms } from '../../analysis/rm-design.ts';

const levels = (k: number) => Array.from({ length: k }, (_, i) => `l${i}`);

function randomDesign(seed: number, n: number, dims: number[], groupSizes?: number[]): RmDesign {
  const rng = new Random(seed);
  const m = dims.reduce((a, b) => a * b, 1);
  const d: RmDesign = {
    y: Float64Array.from({ length: n * m }, () => Math.round(rng.nextFloat() * 20) / 20),
    n,
    within: dims.map((l, f) => ({ name: `f${f}`, levels: levels(l) })),
  };
  if (groupSizes)
    d.between = { name: 'g', levels: levels(groupSizes.length), group: Int32Array.from(groupSizes.flatMap((s, g) => Array(s).fill(g))) };
  return d;
}

/** F of `effect` in a re-fitted table. */
function refitF(d: RmDesign, effect: string): number {
  return rmAnovaTable(d).effects.find((e) => e.effect === effect)!.F;
}

describe('EffectKernel', () => {
  const designs: [string, RmDesign][] = [
    ['one within factor', randomDesign(1, 9, [4])],
    ['two within factors', randomDesign(2, 7, [3, 5])],
    ['three within factors', randomDesign(3, 6, [2, 3, 4])],
    ['mixed, unequal groups', randomDesign(4, 11, [4], [4, 7])],
    ['mixed, two within factors, three groups', randomDesign(5, 13, [2, 3], [3, 4, 6])],
  ];
  for (const [label, d] of designs) {
    it(`gives SS / SS_error of every effect of the table: ${label}`, () => {
      const t = rmAnovaTable(d);
      const dims = d.within.map((f) => f.levels.length);
      const g = d.between?.levels.length ?? 1;
      const labels = d.between?.group ?? new Int32Array(d.n);
      const sizes = t.group_sizes ?? [d.n];
      const check = (effect: string, mask: number, groupTerm: boolean) => {
        const e = t.effects.find((x) => x.effect === effect)!;
        const ratio = new EffectKernel(dims, mask, g).ratio(d.y, d.n, labels, sizes, groupTerm);
        expect(Math.abs(ratio - e.ss / e.ss_error), effect).toBeLessThan(1e-10 * (e.ss / e.ss_error));
      };
      if (d.between) check('g', 0, true);
      for (const term of withinTerms(d.within)) {
        check(term.name, term.mask, false);
        if (d.between) check(`g:${term.name}`, term.mask, true);
      }
    });
  }
});

/** All arrangements of a subject's m values: m! orderings (as index lists). */
function orderings(m: number): number[][] {
  if (m === 1) return [[0]];
  return orderings(m - 1).flatMap((o) => Array.from({ length: m }, (_, i) => [...o.slice(0, i), m - 1, ...o.slice(i)]));
}

/** Exact p = #{F* ≥ F} / #arrangements over every independent rearrangement of every subject's row. */
function exactWithinP(
  d: RmDesign,
  effect: string,
  rowOf: (y: Float64Array, s: number) => number[],
  setRow: (y: Float64Array, s: number, v: number[]) => void,
): number {
  const F = refitF(d, effect);
  const perSubject = Array.from({ length: d.n }, (_, s) => rowOf(d.y, s));
  const orders = orderings(perSubject[0]!.length);
  let count = 0;
  let total = 0;
  const y = Float64Array.from(d.y);
  const visit = (s: number): void => {
    if (s === d.n) {
      total++;
      if (refitF({ ...d, y }, effect) >= F - 1e-9 * F) count++;
      return;
    }
    for (const o of orders) {
      setRow(
        y,
        s,
        o.map((i) => perSubject[s]![i]!),
      );
      visit(s + 1);
    }
  };
  visit(0);
  return count / total;
}

function withinBand(p: number, exact: number, N: number): void {
  expect(Math.abs(p - exact), `${p} vs exact ${exact}`).toBeLessThanOrEqual(4 * Math.sqrt((exact * (1 - exact)) / N) + 1 / N);
}

describe('paper scheme against full enumeration', () => {
  const N = 20_000;

  it('one-way: levels shuffled within each subject (run_permutation_significance_test_layer_effect_human.m)', () => {
    const d: RmDesign = {
      y: Float64Array.from([0.9, 0.6, 0.5, 0.8, 0.7, 0.2, 0.95, 0.5, 0.55, 0.7, 0.75, 0.3]),
      n: 4,
      within: [{ name: 'layer', levels: levels(3) }],
    };
    const row = (y: Float64Array, s: number) => Array.from(y.subarray(s * 3, s * 3 + 3));
    const exact = exactWithinP(d, 'layer', row, (y, s, v) => y.set(v, s * 3));
    const r = designAnova(d, { permutations: N, seed: 3, scheme: 'paper' });
    expect(r.permutation_procedure).toMatch(/run_permutation_significance_test_layer_effect_human\.m/);
    withinBand(r.effects[0]!.p_permutation!, exact, N);
  });

  it('model × layer interaction: all cells shuffled within each subject (run_permutation_network_types.m)', () => {
    const d: RmDesign = {
      y: Float64Array.from([0.9, 0.4, 0.8, 0.7, 0.85, 0.5, 0.9, 0.65, 0.8, 0.3, 0.85, 0.8]),
      n: 3,
      within: [
        { name: 'model', levels: levels(2) },
        { name: 'layer', levels: levels(2) },
      ],
    };
    const row = (y: Float64Array, s: number) => Array.from(y.subarray(s * 4, s * 4 + 4));
    const exact = exactWithinP(d, 'model:layer', row, (y, s, v) => y.set(v, s * 4));
    const r = designAnova(d, { permutations: N, seed: 4, scheme: 'paper' });
    withinBand(r.effects.find((e) => e.effect === 'model:layer')!.p_permutation!, exact, N);
  });

  it('model main effect: model levels shuffled on layer-averaged data', () => {
    const d: RmDesign = {
      y: Float64Array.from([0.9, 0.4, 0.6, 0.8, 0.7, 0.5, 0.9, 0.65, 0.8, 0.3, 0.55, 0.8, 0.6, 0.6, 0.7, 0.4]),
      n: 4,
      within: [
        { name: 'model', levels: levels(2) },
        { name: 'layer', levels: levels(2) },
      ],
    };
    // Swapping a subject's two models is the only rearrangement of its layer-averaged data.
    const swap = (y: Float64Array, s: number, v: number[]) =>
      y.set(v[0] === 0 ? [0, 1, 2, 3].map((i) => d.y[s * 4 + i]!) : [2, 3, 0, 1].map((i) => d.y[s * 4 + i]!), s * 4);
    const exact = exactWithinP(d, 'model', () => [0, 1], swap);
    const r = designAnova(d, { permutations: N, seed: 5, scheme: 'paper' });
    withinBand(r.effects.find((e) => e.effect === 'model')!.p_permutation!, exact, N);
  });

  it('human vs network: labels permuted across rows, for the interaction also levels within rows (…_network_human.m)', () => {
    const y = Float64Array.from([0.9, 0.5, 0.8, 0.6, 0.85, 0.4, 1, 0.9, 0.95, 1, 0.9, 0.8]);
    const group = Int32Array.from([0, 0, 0, 1, 1, 1]);
    const d: RmDesign = {
      y,
      n: 6,
      within: [{ name: 'layer', levels: levels(2) }],
      between: { name: 'observer', levels: ['human', 'net'], group },
    };
    const splits: number[][] = [];
    for (let mask = 0; mask < 64; mask++)
      if ([0, 1, 2, 3, 4, 5].filter((i) => mask & (1 << i)).length === 3)
        splits.push([0, 1, 2, 3, 4, 5].map((i) => (mask & (1 << i) ? 1 : 0)));
    const Fg = refitF(d, 'observer');
    const Fgb = refitF(d, 'observer:layer');
    let main = 0;
    let inter = 0;
    let interTotal = 0;
    for (const split of splits) {
      const relabelled = { ...d, between: { ...d.between!, group: Int32Array.from(split) } };
      if (refitF(relabelled, 'observer') >= Fg * (1 - 1e-9)) main++;
      for (let flips = 0; flips < 64; flips++) {
        const yy = Float64Array.from(y);
        for (let s = 0; s < 6; s++) if (flips & (1 << s)) yy.set([y[s * 2 + 1]!, y[s * 2]!], s * 2);
        interTotal++;
        if (refitF({ ...relabelled, y: yy }, 'observer:layer') >= Fgb * (1 - 1e-9)) inter++;
      }
    }
    const r = designAnova(d, {
      permutations: N,
      seed: 6,
      scheme: 'paper',
      procedure: { file: 'run_permutation_significance_test_network_human.m' },
    });
    withinBand(r.effects.find((e) => e.effect === 'observer')!.p_permutation!, main / splits.length, N);
    withinBand(r.effects.find((e) => e.effect === 'observer:layer')!.p_permutation!, inter / interTotal, N);
  });

  it('reports p as the share of null F at least the observed one, 1/N when there is none (the authors’ convention)', () => {
    expect(paperP(0, 10_000)).toBe(1e-4);
    expect(paperP(250, 10_000)).toBe(0.025);
    // A perfectly consistent layer effect: no shuffle reaches it.
    const y = Float64Array.from({ length: 30 * 4 }, (_, k) => (k % 4) * 0.2 + Math.floor(k / 4) * 0.001);
    const r = designAnova({ y, n: 30, within: [{ name: 'layer', levels: levels(4) }] }, { permutations: 500, seed: 1, scheme: 'paper' });
    expect(r.effects[0]!.p_permutation).toBe(1 / 500);
  });
});

describe('restricted scheme', () => {
  it('is the earlier implementation: the same p-values as rmAnova2 with the same seed', () => {
    const d = randomDesign(9, 8, [2, 5]);
    const r = designAnova(d, { permutations: 2_000, seed: 11, scheme: 'restricted' });
    const old = rmAnova2(d.y, 8, 2, 5, ['f0', 'f1'], { permutations: 2_000, seed: 11 });
    expect(r.effects.map((e) => e.p_permutation)).toEqual(old.effects.map((e) => e.p_permutation));
    expect(r.permutation_scheme).toBe('restricted');
    expect(r.effects[0]!.permutation_null).toBe('f0 levels shuffled within each subject × f1 cell');
  });

  it('refuses designs it has no exchangeable units for, by name', () => {
    expect(() => designAnova(randomDesign(10, 6, [2, 2, 2]), { permutations: 10, seed: 1, scheme: 'restricted' })).toThrow(
      AnalysisInputError,
    );
    expect(() => designAnova(randomDesign(10, 6, [2, 2, 2]), { permutations: 10, seed: 1, scheme: 'restricted' })).toThrow(
      /--permutation-scheme paper/,
    );
  });

  it('gives larger interaction p-values than the paper scheme when a strong layer effect is present', () => {
    // Strong layer effect, a small model × layer interaction, noisy subjects.
    const rng = new Random(12);
    const n = 20;
    const y = new Float64Array(n * 2 * 6);
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < 6; j++) {
        const base = 0.95 - 0.15 * j;
        y[s * 12 + j] = base + 0.08 * (rng.nextFloat() - 0.5);
        y[s * 12 + 6 + j] = base + (j === 3 ? 0.04 : 0) + 0.08 * (rng.nextFloat() - 0.5);
      }
    }
    const d: RmDesign = {
      y,
      n,
      within: [
        { name: 'model', levels: levels(2) },
        { name: 'layer', levels: levels(6) },
      ],
    };
    const paper = designAnova(d, { permutations: 4_000, seed: 1, scheme: 'paper' }).effects[2]!;
    const restricted = designAnova(d, { permutations: 4_000, seed: 1, scheme: 'restricted' }).effects[2]!;
    expect(paper.effect).toBe('model:layer');
    // The paper's full shuffle makes F* nearly F-distributed: its p sits near the parametric one.
    expect(Math.abs(paper.p_permutation! - paper.p_parametric)).toBeLessThan(0.03);
    expect(restricted.p_permutation!).toBeGreaterThan(paper.p_permutation!);
  });
});
