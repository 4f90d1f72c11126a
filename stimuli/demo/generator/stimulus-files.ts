/**
 * Writing stimuli exactly as participants get them: 8-bit grey PNG and 8-bit PCM WAV. Each
 * writer also returns the decoded values, because the model-side checks and the recorded
 * predictions must be about the bytes on disk, not the float the optimiser ended with.
 */
import { PNG } from 'pngjs';

/** Quantises [0, 1] pixels to 8 bits; returns the PNG bytes and the values they decode to. */
export function encodeGreyPng(pixels: Float32Array, width: number, height: number): { bytes: Buffer; decoded: Float32Array } {
  if (pixels.length !== width * height) throw new Error(`PNG of ${width}×${height} needs ${width * height} pixels, got ${pixels.length}`);
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  const data = Buffer.alloc(width * height);
  const decoded = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const q = Math.round(Math.min(1, Math.max(0, pixels[i]!)) * 255);
    data[i] = q;
    decoded[i] = q / 255;
  }
  png.data = data;
  // Fixed deflate settings: the same pixels always give the same bytes (and hashes).
  const bytes = PNG.sync.write(png, {
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
    inputHasAlpha: false,
    deflateLevel: 9,
    filterType: -1,
  });
  return { bytes, decoded };
}

/** Reads an 8-bit grey PNG back to [0, 1] values. */
export function decodeGreyPng(bytes: Buffer): { pixels: Float32Array; width: number; height: number } {
  const png = PNG.sync.read(bytes, { skipRescale: true });
  const pixels = new Float32Array(png.width * png.height);
  // pngjs expands to RGBA; the grey value is in every colour channel.
  for (let i = 0; i < pixels.length; i++) pixels[i] = png.data[i * 4]! / 255;
  return { pixels, width: png.width, height: png.height };
}

/** An RGB(A) PNG from 8-bit grey rows, for the contact sheet. */
export function encodeGreyCanvas(grey: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  png.data = Buffer.from(grey);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false, deflateLevel: 9 });
}

/**
 * 8-bit unsigned PCM (the WAV convention: 128 is silence), mono. Quantisation noise sits about
 * 30 dB under the demo's RMS level; 16-bit files would not fit the committed byte budget.
 */
export function encodeWav8(samples: Float32Array, sampleRate: number): { bytes: Buffer; decoded: Float32Array } {
  const n = samples.length;
  const bytes = Buffer.alloc(44 + n + (n & 1));
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + n + (n & 1), 4);
  bytes.write('WAVE', 8, 'ascii');
  bytes.write('fmt ', 12, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20); // PCM
  bytes.writeUInt16LE(1, 22); // mono
  bytes.writeUInt32LE(sampleRate, 24);
  bytes.writeUInt32LE(sampleRate, 28); // byte rate
  bytes.writeUInt16LE(1, 32); // block align
  bytes.writeUInt16LE(8, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(n, 40);
  const decoded = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const q = Math.min(255, Math.max(0, Math.round(samples[i]! * 128) + 128));
    bytes[44 + i] = q;
    decoded[i] = (q - 128) / 128;
  }
  return { bytes, decoded };
}

export function decodeWav8(bytes: Buffer): { samples: Float32Array; sampleRate: number } {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.readUInt16LE(34) !== 8) throw new Error('not an 8-bit WAV written by encodeWav8');
  const n = bytes.readUInt32LE(40);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = (bytes[44 + i]! - 128) / 128;
  return { samples, sampleRate: bytes.readUInt32LE(24) };
}
