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
import { createHash, randomBytes } from 'node:crypto';
import {
  ANTIPHASE,
  ANTIPHASE_ORDERS,
  decodeHeadphoneParams,
  drawHeadphoneTrials,
  encodeHeadphoneParams,
  encodeStereoWav,
  HEADPHONE_SAMPLE_RATE,
  headphoneAnswer,
  HeadphoneStimuli,
  headphoneKit,
  headphoneStimulusId,
  headphoneTrialMs,
  headphoneTrialWav,
  HUGGINS,
  hugginsTrial,
  intervalRanges,
  MAX_ATTENUATION,
} from '../../server/headphone-stimuli.ts';
import { cryptoRandom } from '../../server/session-plan.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';

const tempDir = useTempDirs();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

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

/** One session's trial sounds, as the server makes them: parameters, answer, id and WAV bytes. */
function session(test: 'antiphase' | 'huggins', n = 6, random: () => number = cryptoRandom) {
  return drawHeadphoneTrials(test, n, random).map((params) => ({
    params,
    answer: headphoneAnswer(params),
    id: headphoneStimulusId(params),
    wav: headphoneTrialWav(params),
  }));
}

describe('antiphase test (Woods et al. 2017)', () => {
  const kit = headphoneKit('antiphase');
  const ranges = intervalRanges('antiphase');
  const trials = session('antiphase');

  it('gives a session six trials, the six orders of standard, quiet and antiphase tones, each answer twice', () => {
    expect(trials).toHaveLength(6);
    expect(new Set(trials.map((t) => t.id)).size).toBe(6);
    expect(trials.map((t) => t.answer).sort()).toEqual(['1', '1', '2', '2', '3', '3']);
    expect(new Set(trials.map((t) => sha256(t.wav))).size).toBe(6);
  });

  it('makes the quiet tone 6 dB below the others (RMS), the antiphase tone right = −left, the others diotic', () => {
    for (const trial of trials) {
      const order = ANTIPHASE_ORDERS[trial.params.variant]!;
      const { left, right } = pcm(trial.wav);
      expect(left.length).toBe(ranges[2]![1]);
      expect((left.length / HEADPHONE_SAMPLE_RATE) * 1000).toBe(headphoneTrialMs('antiphase'));
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
      // Within a trial the levels keep their relation whatever the trial's own level (16-bit rounding aside).
      expect(20 * Math.log10(level.quiet! / level.standard!)).toBeCloseTo(ANTIPHASE.quietDb, 1);
      expect(level.antiphase! / level.standard!).toBeCloseTo(1, 3);
      // The stored answer is where the quiet tone is.
      expect(trial.answer).toBe(String(order.indexOf('quiet') + 1));
      // Silence between the tones.
      for (let s = ranges[0]![1]; s < ranges[1]![0]; s++) expect(left[s]).toBe(0);
    }
  });

  it('plays 200 Hz tones: the spectrum peaks there', () => {
    const { left } = pcm(trials[0]!.wav);
    const [from, to] = ranges[1]!;
    const power = (hz: number) => Math.hypot(...dft(left, from, to, hz));
    const peak = power(ANTIPHASE.frequency);
    for (const hz of [100, 150, 190, 210, 250, 400]) expect(power(hz)).toBeLessThan(peak / 20);
  });

  it('calibrates with the standard tone, diotic, at the standard level; a trial is that loud or up to 4 dB softer', () => {
    const { left, right } = pcm(kit.calibration.wav);
    expect(left).toEqual(right);
    const standard = (t: (typeof trials)[number]) => {
      const [from, to] = ranges[ANTIPHASE_ORDERS[t.params.variant]!.indexOf('standard')]!;
      return rms(pcm(t.wav).left, from + (to - from) / 4, to - (to - from) / 4);
    };
    const calibration = rms(left, left.length / 4, (3 * left.length) / 4);
    for (const t of trials) {
      const db = 20 * Math.log10(standard(t) / calibration);
      expect(db).toBeCloseTo(-t.params.attenuation / 10, 1);
      expect(db).toBeLessThanOrEqual(0.01);
      expect(db).toBeGreaterThanOrEqual(-MAX_ATTENUATION / 10 - 0.01);
    }
  });
});

describe('Huggins-pitch test (Milne et al. 2021)', () => {
  const ranges = intervalRanges('huggins');
  const n = HUGGINS.noiseSamples;
  const trials = session('huggins');

  it('gives a session six trials with the target twice in each position', () => {
    expect(trials.map((t) => t.answer).sort()).toEqual(['1', '1', '2', '2', '3', '3']);
    expect(new Set(trials.map((t) => sha256(t.wav))).size).toBe(6);
  });

  it('inverts the interaural phase (π) only in the band around 600 Hz of the target interval', () => {
    for (const trial of trials) {
      const { left, right } = pcm(trial.wav);
      const target = Number(trial.answer) - 1;
      const gain = 10 ** (-trial.params.attenuation / 200);
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
        // Inverting a band's phase leaves the level alone: both ears at the noise's RMS (the trial's level).
        expect(rms(left, from, to) / 32767).toBeCloseTo(HUGGINS.rms * gain, 2);
        expect(rms(right, from, to) / 32767).toBeCloseTo(HUGGINS.rms * gain, 2);
        // The ears differ only by the inverted band: their difference is narrowband around 600 Hz.
        const diff = Array.from(left.subarray(from, to), (v, s) => v - right[from + s]!);
        const inBand = Math.hypot(...dft(diff, 0, n, bin(600, n)));
        expect(Math.hypot(...dft(diff, 0, n, bin(300, n)))).toBeLessThan(inBand / 50);
        expect(Math.hypot(...dft(diff, 0, n, bin(1200, n)))).toBeLessThan(inBand / 50);
      }
    }
  });

  it('gives fresh noise to every interval and trial', () => {
    const a = pcm(trials[0]!.wav).left;
    const b = pcm(trials[3]!.wav).left;
    const [from, to] = ranges[1]!;
    expect(a.subarray(from, to)).not.toEqual(b.subarray(from, to));
    expect(a.subarray(ranges[0]![0], ranges[0]![1])).not.toEqual(a.subarray(from, to));
  });
});

describe('per-session sounds', () => {
  it('no file recurs across sessions: 12 sessions of each test, 144 sounds, 144 different files', () => {
    for (const test of ['antiphase', 'huggins'] as const) {
      const hashes = Array.from({ length: 12 }, () => session(test).map((t) => sha256(t.wav))).flat();
      expect(new Set(hashes).size).toBe(hashes.length);
    }
  }, 60_000);

  it('a sound is its parameters: 16 bytes that decode to the same sound, and nothing else decodes', () => {
    for (const t of [...session('antiphase'), ...session('huggins')]) {
      const bytes = encodeHeadphoneParams(t.params);
      expect(bytes).toHaveLength(16);
      expect(decodeHeadphoneParams(bytes)).toEqual(t.params);
      // Deterministic: a restarted server (or a browser's cached copy) has the very same bytes.
      expect(headphoneTrialWav(decodeHeadphoneParams(bytes)!).equals(t.wav)).toBe(true);
    }
    const good = encodeHeadphoneParams({ test: 'huggins', variant: 2, attenuation: 10, seed: 12345 });
    for (const [at, value] of [
      [0, 0],
      [2, 9],
      [3, 7],
      [4, 4],
      [5, MAX_ATTENUATION + 1],
      [15, 1],
    ] as const) {
      const bad = Buffer.from(good);
      bad[at] = value;
      expect(decodeHeadphoneParams(bad), `byte ${at} = ${value}`).toBeNull();
    }
    expect(decodeHeadphoneParams(randomBytes(16))).toBeNull();
  });
});

describe('generation and storage', () => {
  it('is deterministic: the same bytes (and hashes) every time', () => {
    expect(encodeStereoWav(hugginsTrial(2, 12345)).equals(encodeStereoWav(hugginsTrial(2, 12345)))).toBe(true);
    expect(encodeStereoWav(hugginsTrial(2, 12345)).equals(encodeStereoWav(hugginsTrial(2, 12346)))).toBe(false);
  });

  it('stores only the volume-setting sound, under its hash, and registers it as servable', async () => {
    const dir = await tempDir();
    const store = new SqliteStore(`${dir}/metamer.db`);
    const db = store.db;
    try {
      const blobs = new BlobStore(`${dir}/blobs`);
      const source = new HeadphoneStimuli(blobs, store);
      const kit = await source.ensure('huggins');
      expect(await source.ensure('huggins')).toBe(kit);
      const file = blobs.pathOf(kit.calibration.sha256, 'wav');
      expect((await hashFile(file)).sha256).toBe(kit.calibration.sha256);
      expect(kit.calibration.file).toBe(`${kit.calibration.sha256}.wav`);
      expect((await fs.readFile(file)).equals(kit.calibration.wav)).toBe(true);
      const rows = db.prepare('SELECT sha256, ext, mime FROM blobs ORDER BY sha256').all();
      expect(rows).toEqual([{ sha256: kit.calibration.sha256, ext: 'wav', mime: 'audio/wav' }]);
    } finally {
      await store.close();
    }
  });
});
