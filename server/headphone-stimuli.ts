/**
 * The headphone-screening sounds, generated here rather than shipped: each trial is one stereo WAV
 * with three intervals, and the participant says which interval is the odd one.
 *
 * - Antiphase (Woods, Siegel, Traer & McDermott 2017, Atten Percept Psychophys 79:2064): three
 *   200 Hz tones; one is 6 dB quieter, one has its right channel inverted (antiphase); "which is
 *   quietest?". Over loudspeakers the antiphase tone partly cancels in the air and sounds quietest,
 *   so loudspeaker listeners pick it; over headphones it is as loud as the standard. The six trials
 *   are the six orders of the three tones, as in the authors' stimulus files.
 * - Huggins pitch (Milne, Bianco, Poole, Zhao, Oxenham, Billig & Chait 2021, Behav Res 53:1551):
 *   three white-noise intervals, diotic except one, in which the right ear's noise has the band
 *   600 Hz ± 6 % phase-inverted; only with one signal per ear is a faint tone heard; "which has the
 *   hidden tone?". Six trials, the target twice in each position, each with fresh noise.
 *
 * Generation is deterministic (fixed seeds, no clock), so every server makes the same bytes and the
 * same content hashes: plans stored with a file name stay valid across restarts and machines.
 * (Were a JavaScript engine ever to round Math.sin differently in the last bit, a sample could
 * quantise differently and give a new hash; the old blob stays in the store, so old plans still load.)
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../stimuli/blob-store.ts';
import { fft } from './fft.ts';
import { mixSeed, mulberry32, type Rng } from '../stimuli/random.ts';
import type { Store } from './store/store.ts';

export const HEADPHONE_TESTS = ['antiphase', 'huggins'] as const;
export type HeadphoneTest = (typeof HEADPHONE_TESTS)[number];

/** The three intervals' labels: the choices of a headphone trial and the stored answer. */
export const INTERVAL_LABELS = ['1', '2', '3'] as const;
export type IntervalLabel = (typeof INTERVAL_LABELS)[number];

/** 16 kHz carries a 200 Hz tone and a 600 Hz dichotic band with room to spare, at a third of 48 kHz's bytes. */
export const HEADPHONE_SAMPLE_RATE = 16_000;

export const ANTIPHASE = {
  frequency: 200,
  toneMs: 1000,
  gapMs: 500,
  /** Raised-cosine on/off ramps, so tone onsets do not click. */
  rampMs: 100,
  /** Peak amplitude of the standard and antiphase tones (full scale 1). */
  peak: 0.5,
  /** Level of the quiet tone relative to the standard. */
  quietDb: -6,
  calibrationMs: 3000,
} as const;

export const HUGGINS = {
  centreHz: 600,
  /** The inverted band is centre × (1 ± this), as in Milne et al.'s generator. */
  halfWidth: 0.06,
  /** 2^14 samples at 16 kHz (1.024 s): the band inversion is an exact circular FFT operation. */
  noiseSamples: 16_384,
  gapMs: 1000,
  rampMs: 10,
  /** RMS of the noise (full scale 1); Gaussian peaks stay below full scale (6.7 SD). */
  rms: 0.15,
  calibrationMs: 3000,
} as const;

export interface StereoSound {
  left: Float32Array;
  right: Float32Array;
  sampleRate: number;
}

export type AntiphaseTone = 'standard' | 'quiet' | 'antiphase';

/** Letters of the orders in stimulus ids: S standard, Q quiet (the answer), A antiphase. */
const TONE_LETTER: Record<AntiphaseTone, string> = { standard: 'S', quiet: 'Q', antiphase: 'A' };

const samplesOf = (ms: number) => Math.round((ms / 1000) * HEADPHONE_SAMPLE_RATE);

/** Raised-cosine ramps at both ends, applied in place. */
function ramp(x: Float32Array, rampSamples: number): void {
  const n = Math.min(rampSamples, Math.floor(x.length / 2));
  for (let i = 0; i < n; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * i) / n);
    x[i]! *= g;
    x[x.length - 1 - i]! *= g;
  }
}

export function antiphaseTone(kind: AntiphaseTone, ms: number = ANTIPHASE.toneMs): StereoSound {
  const n = samplesOf(ms);
  const amp = kind === 'quiet' ? ANTIPHASE.peak * 10 ** (ANTIPHASE.quietDb / 20) : ANTIPHASE.peak;
  const left = new Float32Array(n);
  for (let i = 0; i < n; i++) left[i] = amp * Math.sin((2 * Math.PI * ANTIPHASE.frequency * i) / HEADPHONE_SAMPLE_RATE);
  ramp(left, samplesOf(ANTIPHASE.rampMs));
  const right = kind === 'antiphase' ? left.map((v) => -v) : left.slice();
  return { left, right, sampleRate: HEADPHONE_SAMPLE_RATE };
}

/** Standard Gaussian samples (Box–Muller) from a seeded uniform generator. */
function gaussian(n: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng(); // (0, 1]: log stays finite
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** The FFT bins whose frequency lies in the inverted band. */
export function hugginsBand(n: number, sampleRate: number): { first: number; last: number } {
  const lo = HUGGINS.centreHz * (1 - HUGGINS.halfWidth);
  const hi = HUGGINS.centreHz * (1 + HUGGINS.halfWidth);
  return { first: Math.ceil((lo * n) / sampleRate), last: Math.floor((hi * n) / sampleRate) };
}

/** One noise interval: diotic, or (target) with the right ear's band around 600 Hz inverted. */
export function hugginsInterval(target: boolean, rng: Rng): StereoSound {
  const n = HUGGINS.noiseSamples;
  const noise = gaussian(n, rng);
  let rightNoise: Float64Array = noise;
  if (target) {
    const re = Float64Array.from(noise);
    const im = new Float64Array(n);
    fft(re, im);
    const { first, last } = hugginsBand(n, HEADPHONE_SAMPLE_RATE);
    for (let k = first; k <= last; k++) {
      // Negating bin k and its mirror N−k keeps the signal real and inverts that component's phase.
      re[k] = -re[k]!;
      im[k] = -im[k]!;
      re[n - k] = -re[n - k]!;
      im[n - k] = -im[n - k]!;
    }
    fft(re, im, true);
    rightNoise = re;
  }
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += noise[i]! * noise[i]!;
  const gain = HUGGINS.rms / Math.sqrt(sumSq / n);
  const left = Float32Array.from(noise, (v) => v * gain);
  const right = Float32Array.from(rightNoise, (v) => v * gain);
  ramp(left, samplesOf(HUGGINS.rampMs));
  ramp(right, samplesOf(HUGGINS.rampMs));
  return { left, right, sampleRate: HEADPHONE_SAMPLE_RATE };
}

/** Intervals in sequence with silent gaps between them. */
export function concatIntervals(parts: StereoSound[], gapMs: number): StereoSound {
  const gap = samplesOf(gapMs);
  const total = parts.reduce((s, p) => s + p.left.length, 0) + gap * (parts.length - 1);
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    left.set(p.left, at);
    right.set(p.right, at);
    at += p.left.length + gap;
  }
  return { left, right, sampleRate: HEADPHONE_SAMPLE_RATE };
}

/** Sample ranges [start, end) of the three intervals of a trial sound. */
export function intervalRanges(test: HeadphoneTest): [number, number][] {
  const len = test === 'antiphase' ? samplesOf(ANTIPHASE.toneMs) : HUGGINS.noiseSamples;
  const gap = samplesOf(test === 'antiphase' ? ANTIPHASE.gapMs : HUGGINS.gapMs);
  return [0, 1, 2].map((i) => [i * (len + gap), i * (len + gap) + len]);
}

export function antiphaseTrial(order: readonly AntiphaseTone[]): StereoSound {
  return concatIntervals(order.map((k) => antiphaseTone(k)), ANTIPHASE.gapMs);
}

export function hugginsTrial(targetInterval: 1 | 2 | 3, seed: number): StereoSound {
  const rng = mulberry32(seed);
  return concatIntervals([1, 2, 3].map((i) => hugginsInterval(i === targetInterval, rng)), HUGGINS.gapMs);
}

/** The volume-setting sound: the test's sound at its level, diotic, played before the trials. */
export function calibrationSound(test: HeadphoneTest): StereoSound {
  if (test === 'antiphase') return antiphaseTone('standard', ANTIPHASE.calibrationMs);
  const rng = mulberry32(mixSeed(0x4066, 0xca1));
  const parts: StereoSound[] = [];
  for (let ms = 0; ms < HUGGINS.calibrationMs; ms += (HUGGINS.noiseSamples / HEADPHONE_SAMPLE_RATE) * 1000) {
    parts.push(hugginsInterval(false, rng));
  }
  return concatIntervals(parts, 0);
}

/**
 * 16-bit PCM stereo. Rounding is symmetric about zero, so an antiphase channel (−x) is stored as
 * exactly the negative of its partner's integers.
 */
export function encodeStereoWav(s: StereoSound): Buffer {
  const n = s.left.length;
  if (s.right.length !== n) throw new Error('encodeStereoWav: channels differ in length');
  const bytes = n * 4;
  const buf = Buffer.alloc(44 + bytes);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + bytes, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(s.sampleRate, 24);
  buf.writeUInt32LE(s.sampleRate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(bytes, 40);
  const q = (v: number) => {
    const c = Math.max(-1, Math.min(1, v));
    return Math.sign(c) * Math.round(Math.abs(c) * 32767);
  };
  const pcm = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    pcm[2 * i] = q(s.left[i]!);
    pcm[2 * i + 1] = q(s.right[i]!);
  }
  // WAV is little-endian, as is every platform Node runs on.
  Buffer.from(pcm.buffer).copy(buf, 44);
  return buf;
}

export interface HeadphoneSound {
  /** Stable id, stored as the trial's stimulus_id. */
  id: string;
  /** `<sha256>.wav`: the public, content-addressed name. */
  file: string;
  sha256: string;
  wav: Buffer;
}

export interface HeadphoneTrialSound extends HeadphoneSound {
  /** The interval with the quiet tone / the hidden tone. */
  answer: IntervalLabel;
}

export interface HeadphoneKit {
  test: HeadphoneTest;
  calibration: HeadphoneSound;
  /** The pool a session's headphone trials are drawn from (6 for either test). */
  trials: HeadphoneTrialSound[];
}

function sound(id: string, s: StereoSound): HeadphoneSound {
  const wav = encodeStereoWav(s);
  const sha256 = createHash('sha256').update(wav).digest('hex');
  return { id, file: `${sha256}.wav`, sha256, wav };
}

/** The six orders of the three tones. */
export const ANTIPHASE_ORDERS: readonly (readonly AntiphaseTone[])[] = [
  ['quiet', 'standard', 'antiphase'],
  ['quiet', 'antiphase', 'standard'],
  ['standard', 'quiet', 'antiphase'],
  ['antiphase', 'quiet', 'standard'],
  ['standard', 'antiphase', 'quiet'],
  ['antiphase', 'standard', 'quiet'],
];

const kits = new Map<HeadphoneTest, HeadphoneKit>();

/** The test's sounds and their names; generated once per process (tens of milliseconds). */
export function headphoneKit(test: HeadphoneTest): HeadphoneKit {
  const cached = kits.get(test);
  if (cached) return cached;
  let kit: HeadphoneKit;
  if (test === 'antiphase') {
    kit = {
      test,
      calibration: sound('headphone/antiphase/calibration', calibrationSound(test)),
      trials: ANTIPHASE_ORDERS.map((order) => ({
        ...sound(`headphone/antiphase/${order.map((k) => TONE_LETTER[k]).join('')}`, antiphaseTrial(order)),
        answer: INTERVAL_LABELS[order.indexOf('quiet')]!,
      })),
    };
  } else {
    kit = {
      test,
      calibration: sound('headphone/huggins/calibration', calibrationSound(test)),
      trials: [0, 1, 2, 3, 4, 5].map((t) => {
        const target = ((t % 3) + 1) as 1 | 2 | 3;
        return { ...sound(`headphone/huggins/${t + 1}-${target}`, hugginsTrial(target, mixSeed(0x4066, t))), answer: INTERVAL_LABELS[target - 1]! };
      }),
    };
  }
  kits.set(test, kit);
  return kit;
}

/** What the participant sessions need: the test's files present in the blob store. */
export interface HeadphoneStimulusSource {
  ensure(test: HeadphoneTest): Promise<HeadphoneKit>;
}

/** Writes a test's sounds into the blob store and registers them as servable, once per process. */
export class HeadphoneStimuli implements HeadphoneStimulusSource {
  private readonly written = new Map<HeadphoneTest, Promise<HeadphoneKit>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly store: Pick<Store, 'registerBlob'>,
  ) {}

  ensure(test: HeadphoneTest): Promise<HeadphoneKit> {
    let p = this.written.get(test);
    if (!p) {
      p = (async () => {
        const kit = headphoneKit(test);
        for (const s of [kit.calibration, ...kit.trials]) {
          await this.blobs.putBuffer(s.wav, 'wav');
          await this.store.registerBlob(s.sha256, 'wav');
        }
        return kit;
      })();
      // A failed write (disk full) is tried again by the next session rather than remembered.
      p.catch(() => this.written.delete(test));
      this.written.set(test, p);
    }
    return p;
  }
}
