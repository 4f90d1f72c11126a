/**
 * The generated headphone-check sounds, checked numerically on the WAV bytes the participant's
 * browser receives: levels, channel relations and the Huggins band's interaural phase (with a DFT
 * written here, independent of the generator's FFT).
 */
import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BlobStore, hashFile } from '../../stimuli/blob-store.ts';
import { bufferSource, readWav } from '../../stimuli/media-headers.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { fft } from '../../server/fft.ts';
import {
  ANTIPHASE,
  ANTIPHASE_ORDERS,
  encodeStereoWav,
  HEADPHONE_SAMPLE_RATE,
  HeadphoneStimuli,
  headphoneKit,
  HUGGINS,
  hugginsTrial,
  intervalRanges,
} from '../../server/headphone-stimuli.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';

const tempDir = useTempDirs();

/** The 16-bit stereo samples of a canonical WAV, as integers. */
function pcm(wav: Buffer): { left: Int16Array; right: Int16Array } {
  const media = readWav(bufferSource(wav));
  expect(media).toMatchObject({ kind: 'audio', format: 'wav', channels: 2, sample_rate: HEADPHONE_SAMPLE_RATE });
  expect(wav.readUInt16LE(34)).toBe(16);
  const n = wav.readUInt32LE(40) / 4;
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = wav.readInt16LE(44 + 4 * i);
    right[i] = wav.readInt16LE(46 + 4 * i);
  }
  return { left, right };
}

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

/** One DFT coefficient at `hz` over x[from, to), by direct summation. */
function dft(x: ArrayLike<number>, from: number, to: number, hz: number): [number, number] {
  let re = 0;
  let im = 0;
  const w = (2 * Math.PI * hz) / HEADPHONE_SAMPLE_RATE;
  for (let i = from; i < to; i++) {
    re += x[i]! * Math.cos(w * (i - from));
    im -= x[i]! * Math.sin(w * (i - from));
  }
  return [re, im];
}

/** The frequency of the DFT bin nearest `hz` for a block of n samples (bins are exact there). */
const bin = (hz: number, n: number) => (Math.round((hz * n) / HEADPHONE_SAMPLE_RATE) * HEADPHONE_SAMPLE_RATE) / n;

/**
 * Interaural phase difference around `hz` (left minus right, in (−π, π]): the phase of the
 * cross-spectrum L·conj(R) summed over the bins within ±3 Hz, so that one bin where this noise
 * happens to be weak (and the 10 ms ramps' leakage shows) does not decide it.
 */
function ipd(left: Int16Array, right: Int16Array, from: number, to: number, hz: number): number {
  const n = to - from;
  const step = HEADPHONE_SAMPLE_RATE / n;
  let cr = 0;
  let ci = 0;
  for (let f = bin(hz - 3, n); f <= hz + 3; f += step) {
    const [lr, li] = dft(left, from, to, f);
    const [rr, ri] = dft(right, from, to, f);
    cr += lr * rr + li * ri;
    ci += li * rr - lr * ri;
  }
  return Math.atan2(ci, cr);
}

describe('FFT kernel', () => {
  it('matches a direct DFT and inverts exactly', () => {
    const n = 64;
    const x = Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.5 * Math.cos(i * 0.37) + (i % 7) / 10);
    const re = Float64Array.from(x);
    const im = new Float64Array(n);
    fft(re, im);
    for (const k of [0, 1, 5, 17, 32, 63]) {
      let er = 0;
      let ei = 0;
      for (let i = 0; i < n; i++) {
        er += x[i]! * Math.cos((2 * Math.PI * k * i) / n);
        ei -= x[i]! * Math.sin((2 * Math.PI * k * i) / n);
      }
      expect(re[k]).toBeCloseTo(er, 9);
      expect(im[k]).toBeCloseTo(ei, 9);
    }
    fft(re, im, true);
    for (let i = 0; i < n; i++) {
      expect(re[i]).toBeCloseTo(x[i]!, 12);
      expect(im[i]).toBeCloseTo(0, 12);
    }
    expect(() => fft(new Float64Array(12), new Float64Array(12))).toThrow(/power of two/);
  });
});

describe('antiphase test (Woods et al. 2017)', () => {
  const kit = headphoneKit('antiphase');
  const ranges = intervalRanges('antiphase');

  it('has six trials, the six orders of standard, quiet and antiphase tones, each answer twice', () => {
    expect(kit.trials).toHaveLength(6);
    expect(new Set(kit.trials.map((t) => t.id)).size).toBe(6);
    expect(kit.trials.map((t) => t.answer).sort()).toEqual(['1', '1', '2', '2', '3', '3']);
    expect(new Set(kit.trials.map((t) => t.sha256)).size).toBe(6);
  });

  it('makes the quiet tone 6 dB below the others (RMS), the antiphase tone right = −left, the others diotic', () => {
    for (const [i, order] of ANTIPHASE_ORDERS.entries()) {
      const trial = kit.trials[i]!;
      const { left, right } = pcm(trial.wav);
      expect(left.length).toBe(ranges[2]![1]);
      const level: Record<string, number> = {};
      for (const [j, kind] of order.entries()) {
        const [from, to] = ranges[j]!;
        level[kind] = rms(left, from, to);
        expect(rms(right, from, to)).toBeCloseTo(level[kind]!, 6);
        let mismatched = 0;
        for (let s = from; s < to; s++) {
          // (A sum, not a negation: −0 and 0 are the same sample.)
          if (kind === 'antiphase' ? right[s]! + left[s]! !== 0 : right[s] !== left[s]) mismatched++;
        }
        expect(mismatched, `${trial.id} ${kind}`).toBe(0);
        if (kind === 'antiphase') expect(rms(left, from, to)).toBeGreaterThan(1000);
      }
      expect(20 * Math.log10(level.quiet! / level.standard!)).toBeCloseTo(ANTIPHASE.quietDb, 2);
      expect(level.antiphase).toBeCloseTo(level.standard!, 6);
      // The stored answer is where the quiet tone is.
      expect(trial.answer).toBe(String(order.indexOf('quiet') + 1));
      // Silence between the tones.
      for (let s = ranges[0]![1]; s < ranges[1]![0]; s++) expect(left[s]).toBe(0);
    }
  });

  it('plays 200 Hz tones: the spectrum peaks there', () => {
    const { left } = pcm(kit.trials[0]!.wav);
    const [from, to] = ranges[1]!;
    const power = (hz: number) => Math.hypot(...dft(left, from, to, hz));
    const peak = power(ANTIPHASE.frequency);
    for (const hz of [100, 150, 190, 210, 250, 400]) expect(power(hz)).toBeLessThan(peak / 20);
  });

  it('calibrates with the standard tone, diotic, at the standard level', () => {
    const { left, right } = pcm(kit.calibration.wav);
    expect(left).toEqual(right);
    const { left: trialLeft } = pcm(kit.trials[0]!.wav);
    const [from, to] = ranges[kit.trials[0]!.id.endsWith('QSA') ? 1 : 0]!;
    // Steady-state amplitude equals the standard tone's (ramps aside).
    const mid = (x: Int16Array, a: number, b: number) => Math.max(...Array.from(x.subarray(a + (b - a) / 4, b - (b - a) / 4), Math.abs));
    expect(mid(left, 0, left.length)).toBe(mid(trialLeft, from, to));
  });
});

describe('Huggins-pitch test (Milne et al. 2021)', () => {
  const kit = headphoneKit('huggins');
  const ranges = intervalRanges('huggins');
  const n = HUGGINS.noiseSamples;

  it('has six trials with the target twice in each position', () => {
    expect(kit.trials.map((t) => t.answer)).toEqual(['1', '2', '3', '1', '2', '3']);
    expect(new Set(kit.trials.map((t) => t.sha256)).size).toBe(6);
  });

  it('inverts the interaural phase (π) only in the band around 600 Hz of the target interval', () => {
    for (const trial of kit.trials) {
      const { left, right } = pcm(trial.wav);
      const target = Number(trial.answer) - 1;
      for (const [j, [from, to]] of ranges.entries()) {
        expect(to - from).toBe(n);
        if (j !== target) {
          // Diotic noise: identical samples in both ears.
          expect(right.subarray(from, to)).toEqual(left.subarray(from, to));
          continue;
        }
        // 600 Hz ± 6 % is 564–636 Hz; test well inside and well outside the edges.
        for (const hz of [575, 585, 595, 600, 605, 615, 625]) {
          expect(Math.abs(Math.abs(ipd(left, right, from, to, bin(hz, n))) - Math.PI), `${trial.id} ${hz} Hz`).toBeLessThan(0.2);
        }
        for (const hz of [150, 300, 450, 520, 680, 750, 1000, 2000, 4000]) {
          expect(Math.abs(ipd(left, right, from, to, bin(hz, n))), `${trial.id} ${hz} Hz`).toBeLessThan(0.2);
        }
        // Inverting a band's phase leaves the level alone: both ears at the noise's RMS.
        expect(rms(left, from, to) / 32767).toBeCloseTo(HUGGINS.rms, 2);
        expect(rms(right, from, to) / 32767).toBeCloseTo(HUGGINS.rms, 2);
        // The ears differ only by the inverted band: their difference is narrowband around 600 Hz.
        const diff = Array.from(left.subarray(from, to), (v, s) => v - right[from + s]!);
        const inBand = Math.hypot(...dft(diff, 0, n, bin(600, n)));
        expect(Math.hypot(...dft(diff, 0, n, bin(300, n)))).toBeLessThan(inBand / 50);
        expect(Math.hypot(...dft(diff, 0, n, bin(1200, n)))).toBeLessThan(inBand / 50);
      }
    }
  });

  it('gives fresh noise to every interval and trial', () => {
    const a = pcm(kit.trials[0]!.wav).left;
    const b = pcm(kit.trials[3]!.wav).left;
    const [from, to] = ranges[1]!;
    expect(a.subarray(from, to)).not.toEqual(b.subarray(from, to));
    expect(a.subarray(ranges[0]![0], ranges[0]![1])).not.toEqual(a.subarray(from, to));
  });
});

describe('generation and storage', () => {
  it('is deterministic: the same bytes (and hashes) every time', () => {
    expect(encodeStereoWav(hugginsTrial(2, 12345)).equals(encodeStereoWav(hugginsTrial(2, 12345)))).toBe(true);
    expect(encodeStereoWav(hugginsTrial(2, 12345)).equals(encodeStereoWav(hugginsTrial(2, 12346)))).toBe(false);
  });

  it('writes every sound into the blob store under its hash and registers it as servable', async () => {
    const dir = await tempDir();
    const store = new SqliteStore(`${dir}/metamer.db`);
    const db = store.db;
    try {
      const blobs = new BlobStore(`${dir}/blobs`);
      const source = new HeadphoneStimuli(blobs, store);
      const kit = await source.ensure('huggins');
      expect(await source.ensure('huggins')).toBe(kit);
      for (const s of [kit.calibration, ...kit.trials]) {
        const file = blobs.pathOf(s.sha256, 'wav');
        expect((await hashFile(file)).sha256).toBe(s.sha256);
        expect(s.file).toBe(`${s.sha256}.wav`);
        expect((await fs.readFile(file)).equals(s.wav)).toBe(true);
      }
      const rows = db.prepare('SELECT sha256, ext, mime FROM blobs ORDER BY sha256').all();
      expect(rows).toEqual(
        [kit.calibration, ...kit.trials].map((s) => ({ sha256: s.sha256, ext: 'wav', mime: 'audio/wav' })).sort((a, b) => a.sha256.localeCompare(b.sha256)),
      );
    } finally {
      await store.close();
    }
  });
});
