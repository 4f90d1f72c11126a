/**
 * The repeated-measures table (rm-design.ts), its sphericity statistics (sphericity.ts) and the
 * χ² tail they use, against closed forms and against MATLAB's own documented example: MathWorks'
 * fisheriris example for RepeatedMeasuresModel (help pages of `ranova`, `epsilon` and `mauchly`:
 * https://www.mathworks.com/help/stats/repeatedmeasuresmodel.epsilon.html and …mauchly.html), run
 * on Fisher's (1936) iris data (test/fixtures/fisher-iris-long.csv: the UCI copy with its two
 * known transcription errors, samples 35 and 38, corrected to Fisher's values, as MATLAB ships it;
 * Bezdek et al. 1999, IEEE Trans Fuzzy Syst 7:368).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTidyDesign } from '../../analysis/anova-tidy.ts';
import { chiSquareUpperTail } from '../../analysis/chi-square-distribution.ts';
import { mixedAnova } from '../../analysis/mixed-anova.ts';
import { Random } from '../../analysis/random.ts';
import { rmAnova2 } from '../../analysis/rm-anova.ts';
import { helmert, type RmDesign, rmAnovaTable, termContrasts, withinTerms } from '../../analysis/rm-design.ts';
import { epsilons, logDetPsd, mauchly } from '../../analysis/sphericity.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const rel = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

describe('χ² upper tail', () => {
  it('matches closed forms for 2 and 4 degrees of freedom and the 5% critical values', () => {
    for (const x of [0.1, 1, 3.7, 12, 60]) {
      expect(chiSquareUpperTail(x, 2)).toBeCloseTo(Math.exp(-x / 2), 14);
      expect(rel(chiSquareUpperTail(x, 4), Math.exp(-x / 2) * (1 + x / 2))).toBeLessThan(1e-12);
    }
    // Tabulated 5% points (Abramowitz & Stegun, table 26.8).
    expect(chiSquareUpperTail(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareUpperTail(11.070498, 5)).toBeCloseTo(0.05, 6);
    expect(chiSquareUpperTail(18.307038, 10)).toBeCloseTo(0.05, 6);
    expect(chiSquareUpperTail(0, 3)).toBe(1);
    expect(Number.isNaN(chiSquareUpperTail(1, 0))).toBe(true);
  });
});

describe('contrasts', () => {
  it('normalised Helmert contrasts are orthonormal and orthogonal to the ones vector', () => {
    for (const k of [2, 3, 5, 9]) {
      const H = helmert(k);
      for (let a = 0; a < k - 1; a++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += H[i * (k - 1) + a]!;
        expect(sum).toBeCloseTo(0, 14);
        for (let b = 0; b < k - 1; b++) {
          let dot = 0;
          for (let i = 0; i < k; i++) dot += H[i * (k - 1) + a]! * H[i * (k - 1) + b]!;
          expect(dot).toBeCloseTo(a === b ? 1 : 0, 14);
        }
      }
    }
  });

  it('a term’s contrast matrix spans exactly that term: its columns are orthonormal and sum to zero over each of its factors', () => {
    const within = [
      { name: 'a', levels: ['1', '2', '3'] },
      { name: 'b', levels: ['1', '2', '3', '4'] },
    ];
    const terms = withinTerms(within);
    expect(terms.map((t) => [t.name, t.q])).toEqual([
      ['a', 2],
      ['b', 3],
      ['a:b', 6],
    ]);
    const all = terms.map((t) => termContrasts(within, t));
    // The three terms together with the grand mean are an orthonormal basis of the 12 cells.
    const cols: number[][] = [Array(12).fill(1 / Math.sqrt(12))];
    all.forEach((C, ti) => {
      for (let j = 0; j < terms[ti]!.q; j++) cols.push(Array.from({ length: 12 }, (_, c) => C[c * terms[ti]!.q + j]!));
    });
    expect(cols).toHaveLength(12);
    for (let i = 0; i < 12; i++)
      for (let j = 0; j < 12; j++) expect(cols[i]!.reduce((s, v, c) => s + v * cols[j]![c]!, 0)).toBeCloseTo(i === j ? 1 : 0, 13);
  });
});

describe('sphericity', () => {
  it('is 1 for a one-dimensional effect and for a spherical covariance; lower bound 1/q', () => {
    expect(epsilons(new Float64Array([2]), 1, 10)).toEqual({ gg: 1, hf: 1, lb: 1 });
    const I = new Float64Array([3, 0, 0, 0, 3, 0, 0, 0, 3]);
    const e = epsilons(I, 3, 20);
    expect(e.gg).toBeCloseTo(1, 14);
    expect(e.hf).toBe(1);
    expect(e.lb).toBeCloseTo(1 / 3, 14);
    const m = mauchly('x', I, 3, 20);
    expect(m.W).toBeCloseTo(1, 14);
    expect(m.chi2).toBeCloseTo(0, 12);
    expect(m.df).toBe(5);
    expect(m.p).toBeCloseTo(1, 12);
  });

  it('a rank-one covariance is as far from spherical as it gets: ε_GG = 1/q, W undefined or 0', () => {
    const v = [1, 2, -1];
    const E = Float64Array.from({ length: 9 }, (_, k) => v[Math.floor(k / 3)]! * v[k % 3]!);
    expect(epsilons(E, 3, 20).gg).toBeCloseTo(1 / 3, 12);
    expect(logDetPsd(E, 3)).toBe(-Infinity);
    expect(mauchly('x', E, 3, 20).W).toBe(0);
    // Fewer error degrees of freedom than dimensions: Mauchly's test is undefined.
    expect(mauchly('x', E, 3, 2)).toMatchObject({ W: null, chi2: null, p: null });
  });

  it('reproduces MathWorks’ fisheriris example: ranova, epsilon (Huynh–Feldt in Lecoutre’s form) and mauchly', async () => {
    const { design } = await loadTidyDesign(path.join(FIXTURES, 'fisher-iris-long.csv'), {
      subject: 'flower',
      within: ['measure'],
      dv: 'value',
      between: 'species',
    });
    expect(design.n).toBe(150);
    const t = rmAnovaTable(design);
    const measure = t.effects.find((e) => e.effect === 'measure')!;
    const species = t.effects.find((e) => e.effect === 'species:measure')!;
    // epsilon(rm): Uncorrected 1, GreenhouseGeisser 0.75179, HuynhFeldt 0.76409, LowerBound 0.33333.
    expect(rel(measure.epsilon_gg, 0.75179)).toBeLessThan(1e-4);
    expect(rel(measure.epsilon_hf, 0.76409)).toBeLessThan(1e-4);
    // Huynh & Feldt's original form (n in place of n − g + 1) would give 0.7745.
    expect(Math.abs(measure.epsilon_hf - 0.7745)).toBeGreaterThan(0.005);
    // ranova(rm): (Intercept):Measurements and species:Measurements.
    expect([measure.df1, measure.df2, species.df1, species.df2]).toEqual([3, 441, 6, 441]);
    expect(rel(measure.F, 6873.3)).toBeLessThan(1e-4);
    expect(rel(measure.p_gg, 9.4491e-279)).toBeLessThan(1e-4);
    expect(rel(measure.p_hf, 2.9213e-283)).toBeLessThan(1e-4);
    expect(rel(measure.p_lb, 2.5871e-125)).toBeLessThan(1e-4);
    expect(rel(species.F, 586.1)).toBeLessThan(1e-4);
    expect(rel(species.p_parametric, 1.4271e-206)).toBeLessThan(1e-4);
    expect(rel(species.p_gg, 4.9313e-156)).toBeLessThan(1e-4);
    expect(rel(species.p_hf, 1.5406e-158)).toBeLessThan(1e-4);
    expect(rel(species.p_lb, 9.0151e-71)).toBeLessThan(1e-4);
    expect(rel(species.ss, 282.47)).toBeLessThan(1e-4);
    expect(rel(species.ss_error, 35.423)).toBeLessThan(1e-4);
    // mauchly(rm): W 0.55814, ChiStat 84.976, DF 5, pValue 7.6149e-17.
    const m = t.sphericity[0]!;
    expect(m.effect).toBe('measure');
    expect(rel(m.W!, 0.55814)).toBeLessThan(1e-4);
    expect(rel(m.chi2!, 84.976)).toBeLessThan(1e-4);
    expect(m.df).toBe(5);
    expect(rel(m.p!, 7.6149e-17)).toBeLessThan(1e-4);
  });
});

describe('rmAnovaTable', () => {
  const rng = new Random(5);
  const random = (len: number) => Float64Array.from({ length: len }, () => rng.nextFloat());

  it('gives the classical decomposition of the two-way within design (the earlier rmAnova2)', () => {
    const y = random(7 * 3 * 4);
    const t = rmAnovaTable({
      y,
      n: 7,
      within: [
        { name: 'a', levels: ['1', '2', '3'] },
        { name: 'b', levels: ['1', '2', '3', '4'] },
      ],
    });
    const classic = rmAnova2(y, 7, 3, 4, ['a', 'b'], { permutations: 0, seed: 1 });
    classic.effects.forEach((c, i) => {
      const e = t.effects[i]!;
      expect([e.effect, e.df1, e.df2]).toEqual([c.effect, c.df1, c.df2]);
      expect(rel(e.ss, c.ss)).toBeLessThan(1e-12);
      expect(rel(e.ss_error, c.ss_error)).toBeLessThan(1e-12);
      expect(rel(e.F, c.F)).toBeLessThan(1e-12);
      expect(rel(e.p_parametric, c.p_parametric)).toBeLessThan(1e-10);
    });
  });

  it('gives the split-plot decomposition of the mixed design with equal groups (the earlier mixedAnova)', () => {
    const y = random(12 * 5);
    const group = Int32Array.from({ length: 12 }, (_, s) => (s < 6 ? 0 : 1));
    const t = rmAnovaTable({
      y,
      n: 12,
      within: [{ name: 'b', levels: ['1', '2', '3', '4', '5'] }],
      between: { name: 'g', levels: ['x', 'y'], group },
    });
    const classic = mixedAnova(y, group, 2, 5, ['g', 'b'], { permutations: 0, seed: 1 });
    expect(t.effects.map((e) => e.effect)).toEqual(classic.effects.map((e) => e.effect));
    classic.effects.forEach((c, i) => {
      expect(rel(t.effects[i]!.ss, c.ss)).toBeLessThan(1e-12);
      expect(rel(t.effects[i]!.F, c.F)).toBeLessThan(1e-12);
    });
  });

  it('tests a within effect at the unweighted mean of group means when groups differ in size (Type III, as fitrm)', () => {
    // Group x (2 subjects) rises by 1 from level 1 to 2; group y (6 subjects) falls by 1.
    const rows = [
      [0, 1],
      [1, 2],
      [5, 4],
      [6, 5],
      [5, 4],
      [6, 5],
      [5, 4],
      [6, 5],
    ];
    const d: RmDesign = {
      y: Float64Array.from(rows.flat()),
      n: 8,
      within: [{ name: 'b', levels: ['1', '2'] }],
      between: { name: 'g', levels: ['x', 'y'], group: Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1]) },
    };
    const t = rmAnovaTable(d);
    // The unweighted mean change is (1 − 1)/2 = 0: no main effect of b, all of it in g × b.
    expect(t.effects.find((e) => e.effect === 'b')!.ss).toBe(0);
    expect(t.effects.find((e) => e.effect === 'g:b')!.ss).toBeGreaterThan(0);
  });

  it('reports an effect whose sums of squares are rounding noise as undefined, not as an F', () => {
    // Model b is an exact copy of model a: no model effect and no model × layer effect at all.
    const base = random(6 * 4);
    const y = new Float64Array(6 * 2 * 4);
    for (let s = 0; s < 6; s++) for (let j = 0; j < 4; j++) y[s * 8 + j] = y[s * 8 + 4 + j] = base[s * 4 + j]! / 3 + 0.1;
    const t = rmAnovaTable({
      y,
      n: 6,
      within: [
        { name: 'model', levels: ['a', 'b'] },
        { name: 'layer', levels: ['1', '2', '3', '4'] },
      ],
    });
    for (const name of ['model', 'model:layer']) {
      const e = t.effects.find((x) => x.effect === name)!;
      expect(e.ss).toBe(0);
      expect(e.ss_error).toBe(0);
      expect(Number.isNaN(e.F)).toBe(true);
      expect(Number.isNaN(e.p_parametric) && Number.isNaN(e.p_gg) && Number.isNaN(e.partial_eta2)).toBe(true);
    }
    expect(t.effects.find((x) => x.effect === 'layer')!.F).toBeGreaterThan(0);
    // A zero effect with real error variance is a plain F = 0, p = 1.
    const flat = rmAnovaTable({ y: Float64Array.from([1, 2, 2, 1, 0, 0]), n: 3, within: [{ name: 'b', levels: ['1', '2'] }] }).effects[0]!;
    expect(flat.F).toBe(0);
    expect(flat.p_parametric).toBe(1);
  });
});
