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
 * Every session hears sounds of its own (docs/integrity.md): each trial's answer (the order of the
 * tones, the target interval), its level (0–4 dB below the calibration sound: the task compares
 * intervals within a trial, so a whole trial may be softer), the tones' starting phases and the
 * noise come from random parameters drawn when the session starts, so no file recurs across
 * sessions and no table of file → answer carries over from one session to the next. The sounds
 * are not stored: 16 bytes of parameters (`HeadphoneSoundParams`) are the trial's file in the
 * plan, the URL is those bytes encrypted (server/stimulus-keys.ts), and the server synthesises the
 * WAV from them when it is asked (a few ms), so the blob store does not grow with sessions.
 *
 * Synthesis is deterministic (seeded, no clock): the same parameters give the same bytes on every
 * server and after a restart, so a browser's cached copy and the server's agree. The volume-setting
 * sound carries no answer; it is one file for everybody, stored in the blob store.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../stimuli/blob-store.ts';
import { fft } from './fft.ts';
import { mixSeed, mulberry32, type Rng, seededShuffle } from '../stimuli/random.ts';
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

/** `phase`: the tone's starting phase (radians); `gain`: the trial's level as a factor (≤ 1). */
export function antiphaseTone(kind: AntiphaseTone, ms: number = ANTIPHASE.toneMs, phase = 0, gain = 1): StereoSound {
  const n = samplesOf(ms);
  const amp = gain * (kind === 'quiet' ? ANTIPHASE.peak * 10 ** (ANTIPHASE.quietDb / 20) : ANTIPHASE.peak);
  const left = new Float32Array(n);
  for (let i = 0; i < n; i++) left[i] = amp * Math.sin(phase + (2 * Math.PI * ANTIPHASE.frequency * i) / HEADPHONE_SAMPLE_RATE);
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
export function hugginsInterval(target: boolean, rng: Rng, level = 1): StereoSound {
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
  const gain = (level * HUGGINS.rms) / Math.sqrt(sumSq / n);
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

/** A trial's duration: what its minimum presentation time is (server/pacing.ts). */
export function headphoneTrialMs(test: HeadphoneTest): number {
  return (intervalRanges(test)[2]![1] / HEADPHONE_SAMPLE_RATE) * 1000;
}

/** Three tones in `order`; `seed` draws each tone's starting phase (none: sine phase); `gain` sets the trial's level. */
export function antiphaseTrial(order: readonly AntiphaseTone[], seed?: number, gain = 1): StereoSound {
  const rng = seed === undefined ? () => 0 : mulberry32(seed);
  return concatIntervals(
    order.map((k) => antiphaseTone(k, ANTIPHASE.toneMs, 2 * Math.PI * rng(), gain)),
    ANTIPHASE.gapMs,
  );
}

export function hugginsTrial(targetInterval: 1 | 2 | 3, seed: number, gain = 1): StereoSound {
  const rng = mulberry32(seed);
  return concatIntervals(
    [1, 2, 3].map((i) => hugginsInterval(i === targetInterval, rng, gain)),
    HUGGINS.gapMs,
  );
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
  /** Stable id. */
  id: string;
  /** `<sha256>.wav`: the stored file's name. */
  file: string;
  sha256: string;
  wav: Buffer;
}

export interface HeadphoneKit {
  test: HeadphoneTest;
  /** The volume-setting sound: one file for everybody (it has no answer). */
  calibration: HeadphoneSound;
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

/** The test's volume-setting sound and its name; generated once per process. */
export function headphoneKit(test: HeadphoneTest): HeadphoneKit {
  const cached = kits.get(test);
  if (cached) return cached;
  const kit = { test, calibration: sound(`headphone/${test}/calibration`, calibrationSound(test)) };
  kits.set(test, kit);
  return kit;
}

/**
 * One trial sound of one session. `variant` is the antiphase order (index into ANTIPHASE_ORDERS)
 * or the Huggins target interval (1–3); `attenuation` is the level below the calibration sound in
 * tenths of a dB; `seed` (48 bits) draws the phases or the noise.
 */
export interface HeadphoneSoundParams {
  test: HeadphoneTest;
  variant: number;
  attenuation: number;
  seed: number;
}

/** The level range of a session's trials, tenths of a dB below the calibration sound. */
export const MAX_ATTENUATION = 40;
const PARAMS_MAGIC = 0x6870; // "hp"
const PARAMS_VERSION = 1;

/**
 * 16 bytes: magic, version, test, variant, attenuation, the seed's 6 bytes and 4 zero bytes. The
 * fixed bytes make a forged or damaged name fail to decode (a chance of 2⁻⁵⁶ to pass) rather than
 * make the server synthesise sounds for anyone who asks.
 */
export function encodeHeadphoneParams(p: HeadphoneSoundParams): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16BE(PARAMS_MAGIC, 0);
  b[2] = PARAMS_VERSION;
  b[3] = HEADPHONE_TESTS.indexOf(p.test);
  b[4] = p.variant;
  b[5] = p.attenuation;
  b.writeUIntBE(p.seed, 6, 6);
  return b;
}

export function decodeHeadphoneParams(b: Buffer): HeadphoneSoundParams | null {
  if (b.length !== 16 || b.readUInt16BE(0) !== PARAMS_MAGIC || b[2] !== PARAMS_VERSION || b.readUInt32BE(12) !== 0) return null;
  const test = HEADPHONE_TESTS[b[3]!];
  const variant = b[4]!;
  const attenuation = b[5]!;
  if (!test || attenuation > MAX_ATTENUATION) return null;
  if (test === 'antiphase' ? variant >= ANTIPHASE_ORDERS.length : variant < 1 || variant > 3) return null;
  return { test, variant, attenuation, seed: b.readUIntBE(6, 6) };
}

/** The interval label that answers the trial. */
export function headphoneAnswer(p: HeadphoneSoundParams): IntervalLabel {
  return p.test === 'antiphase' ? INTERVAL_LABELS[ANTIPHASE_ORDERS[p.variant]!.indexOf('quiet')]! : INTERVAL_LABELS[p.variant - 1]!;
}

/** Stable id of the trial's kind (stored as its stimulus_id): the order of tones, or the target. */
export function headphoneStimulusId(p: HeadphoneSoundParams): string {
  return p.test === 'antiphase'
    ? `headphone/antiphase/${ANTIPHASE_ORDERS[p.variant]!.map((k) => TONE_LETTER[k]).join('')}`
    : `headphone/huggins/target-${p.variant}`;
}

/** The WAV bytes of one session's trial sound (a few ms; deterministic in the parameters). */
export function headphoneTrialWav(p: HeadphoneSoundParams): Buffer {
  const gain = 10 ** (-p.attenuation / 200);
  const seed = mixSeed(p.seed % 0x1_0000_0000, Math.floor(p.seed / 0x1_0000_0000), 0x4ead);
  return encodeStereoWav(
    p.test === 'antiphase' ? antiphaseTrial(ANTIPHASE_ORDERS[p.variant]!, seed, gain) : hugginsTrial(p.variant as 1 | 2 | 3, seed, gain),
  );
}

/**
 * A session's `n` trial sounds: every answer equally often (the order shuffled), each trial with
 * its own level and seed. `random` must be unpredictable (crypto), or sessions would share sounds.
 */
export function drawHeadphoneTrials(test: HeadphoneTest, n: number, random: () => number): HeadphoneSoundParams[] {
  const variants = test === 'antiphase' ? ANTIPHASE_ORDERS.map((_, i) => i) : [1, 2, 3];
  const picks: number[] = [];
  while (picks.length < n) picks.push(...seededShuffle(variants, random));
  return picks.slice(0, n).map((variant) => ({
    test,
    variant,
    attenuation: Math.floor(random() * (MAX_ATTENUATION + 1)),
    seed: Math.floor(random() * 2 ** 48),
  }));
}

/** What the participant sessions need: the test's files present in the blob store. */
export interface HeadphoneStimulusSource {
  ensure(test: HeadphoneTest): Promise<HeadphoneKit>;
}

/** Writes a test's volume-setting sound into the blob store and registers it as servable, once per process. */
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
        // The trial sounds are made per session on request (stimulus-files.ts): only this one is stored.
        await this.blobs.putBuffer(kit.calibration.wav, 'wav');
        await this.store.registerBlob(kit.calibration.sha256, 'wav');
        return kit;
      })();
      // A failed write (disk full) is tried again by the next session rather than remembered.
      p.catch(() => this.written.delete(test));
      this.written.set(test, p);
    }
    return p;
  }
}
