/**
 * Reads what a stimulus file really is from its own bytes: PNG and JPEG size and channels, WAV
 * sample rate, channels, bit depth and duration, and whether the file is complete. Hand-written
 * and small: the header structures are parsed; of the pixel data, only a PNG's is checked, by
 * inflating it (zlib, native) and checking that it has the size the header declares, so a file
 * that claims a size its data does not have is refused here rather than crash a decoder later.
 *
 * Images are limited to MAX_IMAGE_SIDE pixels on either side: the header is read before anything
 * is decoded or generated at the image's size (noise masks are), so a 71-byte PNG declaring
 * 100000×100000 px gets a one-line error, not an out-of-memory crash.
 *
 * The parsers work on a ByteSource (random access to a file's bytes) so that a small file is read
 * once into memory and a large one is read only where the headers are.
 */
import { promisify } from 'node:util';
import { inflate } from 'node:zlib';
import type { Media } from './manifest.ts';

/**
 * The largest image side accepted, in pixels. A 4K screen is 3840 px wide: a larger stimulus
 * cannot be shown whole on any participant's screen, and at this size a decoded RGBA image is
 * already 64 MB (the paper's images are 224 px).
 */
export const MAX_IMAGE_SIDE = 4096;

function checkImageSize(kind: string, width: number, height: number): void {
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new MediaHeaderError(
      `${kind} of ${width}×${height} px is over the limit of ${MAX_IMAGE_SIDE} px on either side (no screen shows it whole; resize it)`,
      width > MAX_IMAGE_SIDE ? 'width' : 'height',
    );
  }
}

export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Uint8Array;
}

export function bufferSource(buf: Uint8Array): ByteSource {
  return {
    size: buf.byteLength,
    read: (offset, length) => buf.subarray(Math.min(offset, buf.byteLength), Math.min(offset + length, buf.byteLength)),
  };
}

/** A problem with one file's content; `field` names the header field at fault. */
export class MediaHeaderError extends Error {
  constructor(
    message: string,
    readonly field = 'content',
  ) {
    super(message);
  }
}

export type MediaFormat = 'png' | 'jpeg' | 'wav';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  return sig.every((v, i) => b[at + i] === v);
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

const u16be = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const u32be = (b: Uint8Array, o: number): number => ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
const u16le = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

/** What the first bytes say the file is, whatever its name. */
export function sniffFormat(head: Uint8Array): MediaFormat | null {
  if (startsWith(head, PNG_SIGNATURE)) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WAVE') return 'wav';
  return null;
}

const FORMAT_BY_EXT: Record<string, MediaFormat> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', wav: 'wav' };

/** The media format a file name claims, or null for a type the platform does not serve. */
export function formatOfExtension(file: string): MediaFormat | null {
  const dot = file.lastIndexOf('.');
  return dot < 0 ? null : (FORMAT_BY_EXT[file.slice(dot + 1).toLowerCase()] ?? null);
}

/**
 * Parses a file's headers. `expected` is the format its extension claims: a JPEG named `.png`
 * would be served with the wrong MIME type, so it is an error, not a curiosity.
 */
export function readMediaHeader(src: ByteSource, expected?: MediaFormat): Media {
  if (src.size === 0) throw new MediaHeaderError('empty file (0 bytes)');
  const head = src.read(0, 16);
  const actual = sniffFormat(head);
  if (!actual) {
    throw new MediaHeaderError(
      expected ? `not a ${expected.toUpperCase()} file (wrong signature)` : 'unrecognised file signature (expected PNG, JPEG or WAV)',
      'format',
    );
  }
  if (expected && actual !== expected) {
    throw new MediaHeaderError(`the file is a ${actual.toUpperCase()} but its name says ${expected.toUpperCase()}`, 'format');
  }
  if (actual === 'png') return readPng(src);
  if (actual === 'jpeg') return readJpeg(src);
  return readWav(src);
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
/** Samples per pixel as stored (a palette image stores one index per pixel). */
const PNG_SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: starting column and row, column and row steps. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes the inflated image data must have: one filter byte plus the packed samples per row, per pass. */
function pngRawSize(width: number, height: number, samples: number, depth: number, interlaced: boolean): number {
  const rows = (w: number, h: number) => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * samples * depth) / 8)));
  if (!interlaced) return rows(width, height);
  return ADAM7.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

const inflateAsync = promisify(inflate);

/**
 * A PNG's pixel data: the IDAT stream inflated (on libuv's thread pool, so an import overlaps it
 * with reading and hashing other files) must have exactly the size the header declares, and every
 * row of a non-interlaced image a valid filter type. Call after readMediaHeader accepted the file.
 */
export async function checkPngPixelData(src: ByteSource): Promise<void> {
  const h = src.read(0, 29);
  const width = u32be(h, 16);
  const height = u32be(h, 20);
  const depth = h[24]!;
  const samples = PNG_SAMPLES[h[25]!]!;
  const interlaced = h[28] === 1;
  const parts: Uint8Array[] = [];
  let pos = 8;
  while (pos + 8 <= src.size) {
    const head = src.read(pos, 8);
    const len = u32be(head, 0);
    const type = ascii(head, 4, 4);
    if (type === 'IDAT') parts.push(src.read(pos + 8, len));
    if (type === 'IEND') break;
    pos += 12 + len;
  }
  const expected = pngRawSize(width, height, samples, depth, interlaced);
  const fail = (why: string) =>
    new MediaHeaderError(`corrupt PNG: the pixel data does not decode to ${width}×${height} px (${why})`, 'data');
  if (parts.length === 0) throw fail('no IDAT chunk');
  let raw: Buffer;
  try {
    // Bounded: a stream that inflates to more than the image can hold stops here (a zip bomb).
    raw = await inflateAsync(Buffer.concat(parts), { maxOutputLength: expected + 1 });
  } catch (e) {
    throw fail((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'more data than the image holds' : 'not a valid zlib stream');
  }
  if (raw.length !== expected) throw fail(`${raw.length} bytes of ${expected}`);
  if (!interlaced) {
    const stride = expected / height;
    for (let r = 0; r < height; r++) if (raw[r * stride]! > 4) throw fail(`row ${r} has filter type ${raw[r * stride]}`);
  }
}
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** An empty IEND chunk: length 0, type, and its fixed CRC. */
const PNG_IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

export function readPng(src: ByteSource): Media {
  const h = src.read(0, 33);
  if (!startsWith(h, PNG_SIGNATURE)) throw new MediaHeaderError('not a PNG file (wrong signature)', 'format');
  if (h.length < 33) throw new MediaHeaderError('truncated PNG: the file ends inside the header');
  if (u32be(h, 8) !== 13 || ascii(h, 12, 4) !== 'IHDR') throw new MediaHeaderError('corrupt PNG: the first chunk is not IHDR');
  const width = u32be(h, 16);
  const height = u32be(h, 20);
  const depth = h[24]!;
  const colourType = h[25]!;
  if (width === 0 || height === 0) throw new MediaHeaderError(`corrupt PNG: size ${width}×${height}`, 'width');
  checkImageSize('a PNG', width, height);
  const channels = PNG_CHANNELS[colourType];
  if (channels === undefined || !PNG_DEPTHS[colourType]!.includes(depth)) {
    throw new MediaHeaderError(`corrupt PNG: colour type ${colourType} with bit depth ${depth}`, 'channels');
  }
  // A complete PNG ends with IEND; writers never put anything after it, and a cut-off download
  // or a full disk loses it first.
  const tail = src.read(Math.max(0, src.size - PNG_IEND.length), PNG_IEND.length);
  if (!startsWith(tail, PNG_IEND)) throw new MediaHeaderError('truncated PNG: no IEND chunk at the end of the file');
  return { kind: 'image', format: 'png', width, height, channels };
}

/** SOF0–SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

export function readJpeg(src: ByteSource): Media {
  const soi = src.read(0, 2);
  if (soi[0] !== 0xff || soi[1] !== 0xd8) throw new MediaHeaderError('not a JPEG file (wrong signature)', 'format');
  let pos = 2;
  let frame: { width: number; height: number; channels: number } | null = null;
  let scanAt = -1;
  while (pos < src.size) {
    const m = src.read(pos, 4);
    if (m.length < 2) break;
    if (m[0] !== 0xff) throw new MediaHeaderError(`corrupt JPEG: no marker at byte ${pos}`);
    const marker = m[1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9) break; // EOI before any scan
    if (m.length < 4) break;
    const len = u16be(m, 2);
    if (len < 2) throw new MediaHeaderError(`corrupt JPEG: segment length ${len} at byte ${pos}`);
    if (isSof(marker)) {
      const sof = src.read(pos + 4, 6);
      if (sof.length < 6) break;
      frame = { height: u16be(sof, 1), width: u16be(sof, 3), channels: sof[5]! };
    }
    if (marker === 0xda) {
      scanAt = pos;
      break;
    }
    pos += 2 + len;
  }
  if (!frame || scanAt < 0) {
    throw new MediaHeaderError(`truncated JPEG: the file ends before ${frame ? 'the image data' : 'the frame header'}`);
  }
  if (frame.width === 0 || frame.height === 0) {
    throw new MediaHeaderError(`unsupported JPEG: size ${frame.width}×${frame.height} (the height is defined later in the file)`, 'height');
  }
  checkImageSize('a JPEG', frame.width, frame.height);
  if (frame.channels < 1 || frame.channels > 4) throw new MediaHeaderError(`corrupt JPEG: ${frame.channels} components`, 'channels');
  // In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FF D9 after the
  // first scan can only be the end-of-image marker; a file cut short has none. Writers sometimes
  // pad after EOI, so look at the last bytes rather than the very last two.
  const tailLen = Math.min(src.size - scanAt, 4096);
  const tail = src.read(src.size - tailLen, tailLen);
  let eoi = false;
  for (let i = tail.length - 2; i >= 0; i--) {
    if (tail[i] === 0xff && tail[i + 1] === 0xd9) {
      eoi = true;
      break;
    }
  }
  if (!eoi) throw new MediaHeaderError('truncated JPEG: no end-of-image marker');
  return { kind: 'image', format: 'jpeg', width: frame.width, height: frame.height, channels: frame.channels };
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export function readWav(src: ByteSource): Media {
  const riff = src.read(0, 12);
  if (riff.length < 12 || ascii(riff, 0, 4) !== 'RIFF' || ascii(riff, 8, 4) !== 'WAVE') {
    throw new MediaHeaderError('not a WAV file (no RIFF/WAVE header)', 'format');
  }
  let fmt: { format: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | null = null;
  let data: { offset: number; size: number } | null = null;
  let pos = 12;
  while (pos + 8 <= src.size) {
    const ch = src.read(pos, 8);
    const id = ascii(ch, 0, 4);
    const size = u32le(ch, 4);
    if (id === 'fmt ') {
      const f = src.read(pos + 8, Math.min(size, 40));
      if (size < 16 || f.length < 16) throw new MediaHeaderError('truncated WAV: the fmt chunk is cut short', 'format');
      let format = u16le(f, 0);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (format === WAVE_FORMAT_EXTENSIBLE) {
        if (f.length < 26) throw new MediaHeaderError('truncated WAV: the extensible fmt chunk is cut short', 'format');
        format = u16le(f, 24);
      }
      fmt = { format, channels: u16le(f, 2), sampleRate: u32le(f, 4), blockAlign: u16le(f, 12), bits: u16le(f, 14) };
    } else if (id === 'data') {
      // 0xFFFFFFFF is what streaming writers leave when they cannot seek back: "to the end".
      data = { offset: pos + 8, size: size === 0xffffffff ? src.size - pos - 8 : size };
      if (fmt) break;
    }
    pos += 8 + size + (size & 1);
  }
  if (!fmt) throw new MediaHeaderError('corrupt or truncated WAV: no fmt chunk', 'format');
  if (fmt.format !== WAVE_FORMAT_PCM && fmt.format !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new MediaHeaderError(`unsupported WAV encoding (format tag ${fmt.format}); use PCM or 32-bit float`, 'format');
  }
  const validBits = fmt.format === WAVE_FORMAT_PCM ? [8, 16, 24, 32] : [32, 64];
  if (!validBits.includes(fmt.bits)) throw new MediaHeaderError(`unsupported WAV bit depth ${fmt.bits}`, 'bit_depth');
  if (fmt.channels < 1) throw new MediaHeaderError('corrupt WAV: 0 channels', 'channels');
  if (fmt.sampleRate < 1) throw new MediaHeaderError('corrupt WAV: sample rate 0', 'sample_rate');
  if (fmt.blockAlign !== (fmt.channels * fmt.bits) / 8) {
    throw new MediaHeaderError(`corrupt WAV: block align ${fmt.blockAlign} does not match ${fmt.channels} × ${fmt.bits} bits`, 'format');
  }
  if (!data) throw new MediaHeaderError('truncated WAV: no data chunk', 'data');
  const available = src.size - data.offset;
  if (data.size > available) {
    throw new MediaHeaderError(
      `truncated WAV: the data chunk declares ${data.size} bytes but the file holds ${Math.max(0, available)}`,
      'data',
    );
  }
  if (data.size === 0) throw new MediaHeaderError('WAV holds no samples', 'duration_s');
  if (data.size % fmt.blockAlign !== 0) {
    throw new MediaHeaderError(`truncated WAV: ${data.size} data bytes is not a whole number of ${fmt.blockAlign}-byte frames`, 'data');
  }
  const frames = data.size / fmt.blockAlign;
  return {
    kind: 'audio',
    format: 'wav',
    sample_rate: fmt.sampleRate,
    channels: fmt.channels,
    bit_depth: fmt.bits,
    duration_s: frames / fmt.sampleRate,
  };
}
