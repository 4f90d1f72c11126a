/**
 * A procedural sound data set: 8 categories a listener can name (three synthetic vowels, rising
 * and falling chirps, an amplitude-modulated tone, a click train and a noise band), each a
 * 0.45–0.85 s event around the clip's midpoint over a faint noise floor, then RMS-normalised.
 * Values are in [−1, 1].
 */
import type { SeededRandom } from './seeded-random.ts';
import type { LabelledExample } from './training.ts';

export const AUDIO_CATEGORIES: readonly string[] = ['ah', 'ee', 'oo', 'rising', 'falling', 'wobble', 'clicks', 'hiss'];

/** The level every clip is normalised to (≈ −23 dBFS): room for the click trains' peaks. */
export const AUDIO_RMS = 0.07;

/** Peterson & Barney (1952) mean formants of adult male speakers, Hz: /ɑ/, /i/, /u/. */
const FORMANTS: Record<string, [number, number, number]> = {
  ah: [730, 1090, 2440],
  ee: [270, 2290, 3010],
  oo: [300, 870, 2240],
};

/** A two-pole resonator (Klatt 1980) at frequency f with bandwidth bw, run in place. */
function resonate(x: Float32Array, f: number, bw: number, rate: number): void {
  const c = -Math.exp((-2 * Math.PI * bw) / rate);
  const b = 2 * Math.exp((-Math.PI * bw) / rate) * Math.cos((2 * Math.PI * f) / rate);
  const a = 1 - b - c;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const y = a * x[i]! + b * y1 + c * y2;
    y2 = y1;
    y1 = y;
    x[i] = y;
  }
}

function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / x.length);
}

/** Scales to AUDIO_RMS; lowers the level instead only if a peak would clip. */
export function normaliseRms(x: Float32Array): Float32Array {
  const r = rms(x);
  let gain = r > 0 ? AUDIO_RMS / r : 1;
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]!));
  if (peak * gain > 0.98) gain = 0.98 / peak;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * gain;
  return x;
}

export function drawSound(label: number, length: number, rate: number, rng: SeededRandom): Float32Array {
  const category = AUDIO_CATEGORIES[label];
  if (category === undefined) throw new Error(`no audio category ${label}`);
  const event = new Float32Array(length);
  const dur = Math.min(length, Math.round(rng.uniform(0.45, 0.85) * length));
  const start = Math.max(0, Math.min(length - dur, Math.round(length / 2 - dur / 2 + rng.uniform(-0.08, 0.08) * length)));
  const t = (i: number): number => i / rate;

  const formants = FORMANTS[category];
  if (formants) {
    // Glottal pulses at f0 with slow vibrato, tilted by two one-pole low-passes, then the vocal tract.
    const f0 = rng.uniform(90, 230);
    const vibRate = rng.uniform(4, 6);
    const vibDepth = rng.uniform(0, 0.03);
    let phase = rng.uniform(0, 1);
    for (let i = start; i < start + dur; i++) {
      phase += (f0 * (1 + vibDepth * Math.sin(2 * Math.PI * vibRate * t(i)))) / rate;
      if (phase >= 1) {
        phase -= 1;
        event[i] = 1;
      }
    }
    for (const pole of [0.95, 0.9]) {
      let y = 0;
      for (let i = 0; i < length; i++) {
        y = (1 - pole) * event[i]! + pole * y;
        event[i] = y;
      }
    }
    const bandwidths = [90, 110, 170];
    for (let k = 2; k >= 0; k--) resonate(event, formants[k]! * rng.uniform(0.92, 1.08), bandwidths[k]!, rate);
  } else if (category === 'rising' || category === 'falling') {
    const lo = rng.uniform(250, 600);
    const hi = rng.uniform(2000, 4500);
    const [from, to] = category === 'rising' ? [lo, hi] : [hi, lo];
    let phase = 0;
    for (let i = 0; i < dur; i++) {
      phase += (2 * Math.PI * from * Math.pow(to / from, i / dur)) / rate;
      event[start + i] = Math.sin(phase);
    }
  } else if (category === 'wobble') {
    const carrier = rng.uniform(400, 3000);
    const modRate = rng.uniform(4, 12);
    const depth = rng.uniform(0.75, 1);
    const p0 = rng.uniform(0, 2 * Math.PI);
    for (let i = 0; i < dur; i++) {
      const env = 1 - depth * (0.5 + 0.5 * Math.cos(2 * Math.PI * modRate * t(i) + p0));
      event[start + i] = env * Math.sin(2 * Math.PI * carrier * t(i));
    }
  } else if (category === 'clicks') {
    const clickRate = rng.uniform(15, 40);
    const ring = rng.uniform(1500, 4000);
    const decay = 0.003 * rate;
    const period = rate / clickRate;
    for (let c = start + rng.uniform(0, period); c < start + dur; c += period) {
      const c0 = Math.floor(c);
      for (let i = 0; i < 8 * decay && c0 + i < length; i++) {
        event[c0 + i] = event[c0 + i]! + Math.exp(-i / decay) * Math.sin((2 * Math.PI * ring * i) / rate);
      }
    }
  } else {
    // hiss: white noise through two resonators, a band of about 1/2 to 1 octave.
    const centre = rng.uniform(1000, 5000);
    const width = centre * rng.uniform(0.3, 0.6);
    for (let i = start; i < start + dur; i++) event[i] = rng.gaussian();
    resonate(event, centre, width, rate);
    resonate(event, centre, width, rate);
  }

  // 15 ms raised-cosine ramps, so onsets do not click.
  const ramp = Math.min(Math.round(0.015 * rate), Math.floor(dur / 2));
  for (let i = 0; i < ramp; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * i) / ramp);
    event[start + i] = event[start + i]! * g;
    event[start + dur - 1 - i] = event[start + dur - 1 - i]! * g;
  }

  // A noise floor 18–30 dB under the event.
  const eventRms = rms(event.subarray(start, start + dur)) || 1;
  const floor = eventRms * Math.pow(10, -rng.uniform(18, 30) / 20);
  for (let i = 0; i < length; i++) event[i] = event[i]! + floor * rng.gaussian();
  return normaliseRms(event);
}

export function audioExamples(perCategory: number, length: number, rate: number, rng: SeededRandom): LabelledExample[] {
  const out: LabelledExample[] = [];
  for (let n = 0; n < perCategory; n++) {
    for (let label = 0; label < AUDIO_CATEGORIES.length; label++) out.push({ input: drawSound(label, length, rate, rng), label });
  }
  return out;
}

/** A circular shift of up to ±10% of the clip: the event moves, the noise floor stays continuous. */
export function audioAugmentation(length: number): (input: Float32Array, rng: SeededRandom) => Float32Array {
  return (input, rng) => {
    const shift = Math.round(rng.uniform(-0.1, 0.1) * length);
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = input[(((i - shift) % length) + length) % length]!;
    return out;
  };
}
