/**
 * A log-magnitude spectrogram for looking at sounds in the contact sheet: Hann-windowed frames,
 * a direct DFT (the clips are short and this runs a few dozen times), magnitudes in dB over a
 * fixed 60 dB range drawn dark = loud, rows from high frequency (top) to low.
 */
export function spectrogram(samples: Float32Array, frame = 256, hop = 128): { pixels: Float32Array; width: number; height: number } {
  const frames = Math.max(1, Math.floor((samples.length - frame) / hop) + 1);
  const bins = frame / 2;
  const window = Float64Array.from({ length: frame }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame));
  const cos = Float64Array.from({ length: frame }, (_, i) => Math.cos((2 * Math.PI * i) / frame));
  const sin = Float64Array.from({ length: frame }, (_, i) => Math.sin((2 * Math.PI * i) / frame));
  const pixels = new Float32Array(frames * bins);
  const x = new Float64Array(frame);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < frame; i++) x[i] = (samples[f * hop + i] ?? 0) * window[i]!;
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0, p = 0; i < frame; i++, p = (p + k) % frame) {
        re += x[i]! * cos[p]!;
        im -= x[i]! * sin[p]!;
      }
      const db = 10 * Math.log10(re * re + im * im + 1e-12);
      // A full-scale sinusoid peaks near +36 dB with this window; the demo's RMS level puts tones
      // near +16 dB and its noise floor far below −30 dB, so −30…+30 dB spans what matters.
      const v = (db + 30) / 60;
      pixels[(bins - 1 - k) * frames + f] = 1 - Math.min(1, Math.max(0, v));
    }
  }
  return { pixels, width: frames, height: bins };
}
