import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { bufferSource, MediaHeaderError, readMediaHeader, sniffFormat } from '../../stimuli/media-headers.ts';
import { patternPng, pcm16Wav, toneWav } from '../fixtures/stimulus-sets.ts';

function png(width: number, height: number, colorType: 0 | 2 | 4 | 6): Buffer {
  const p = new PNG({ width, height, colorType, inputHasAlpha: true });
  for (let i = 0; i < p.data.length; i++) p.data[i] = (i * 37) & 255;
  return PNG.sync.write(p, { colorType });
}

function jpg(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 255;
  return Buffer.from(jpeg.encode({ data, width, height }, 80).data);
}

/** A WAV with any fmt fields, and chunks in any order, built field by field. */
function wav(opts: {
  format?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  frames?: number;
  extraBefore?: Buffer;
  extensibleSub?: number;
}): Buffer {
  const channels = opts.channels ?? 1;
  const bits = opts.bits ?? 16;
  const rate = opts.rate ?? 20000;
  const frames = opts.frames ?? 100;
  const align = (channels * bits) / 8;
  const ext = opts.extensibleSub !== undefined;
  const fmt = Buffer.alloc(ext ? 40 : 16);
  fmt.writeUInt16LE(ext ? 0xfffe : (opts.format ?? 1), 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * align, 8);
  fmt.writeUInt16LE(align, 12);
  fmt.writeUInt16LE(bits, 14);
  if (ext) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(opts.extensibleSub!, 24);
  }
  const chunk = (id: string, body: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.write(id, 0, 'ascii');
    h.writeUInt32LE(body.length, 4);
    return Buffer.concat([h, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const body = Buffer.concat([
    Buffer.from('WAVE'),
    opts.extraBefore ?? Buffer.alloc(0),
    chunk('fmt ', fmt),
    chunk('data', Buffer.alloc(frames * align, 7)),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const read = (b: Uint8Array, expected?: 'png' | 'jpeg' | 'wav') => readMediaHeader(bufferSource(b), expected);
const fails = (b: Uint8Array, pattern: RegExp, field?: string, expected?: 'png' | 'jpeg' | 'wav'): void => {
  let err: unknown;
  try {
    read(b, expected);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MediaHeaderError);
  expect((err as Error).message).toMatch(pattern);
  if (field) expect((err as MediaHeaderError).field).toBe(field);
};

describe('PNG headers', () => {
  it('reads size and channels for each colour type', () => {
    expect(read(png(17, 9, 2))).toEqual({ kind: 'image', format: 'png', width: 17, height: 9, channels: 3 });
    expect(read(png(5, 6, 0))).toMatchObject({ width: 5, height: 6, channels: 1 });
    expect(read(png(5, 6, 4))).toMatchObject({ channels: 2 });
    expect(read(png(5, 6, 6))).toMatchObject({ channels: 4 });
    expect(read(patternPng(64, 'bear', 's01', 0, 1))).toMatchObject({ width: 64, height: 64, channels: 3 });
  });
  it('detects a truncated file (no IEND), a cut header, a wrong signature and an empty file', () => {
    const good = png(20, 20, 2);
    fails(good.subarray(0, good.length - 20), /truncated PNG: no IEND/);
    fails(good.subarray(0, 20), /truncated PNG: the file ends inside the header/);
    const bad = Buffer.from(good);
    bad[1] = 0x51;
    fails(bad, /not a PNG file \(wrong signature\)/, 'format', 'png');
    fails(Buffer.alloc(0), /empty file/);
  });
  it('refuses a PNG named .jpg or .wav', () => {
    fails(png(4, 4, 2), /the file is a PNG but its name says JPEG/, 'format', 'jpeg');
  });
});

describe('JPEG headers', () => {
  it('reads size and components from SOF', () => {
    expect(read(jpg(40, 30))).toEqual({ kind: 'image', format: 'jpeg', width: 40, height: 30, channels: 3 });
    expect(read(jpg(224, 224), 'jpeg')).toMatchObject({ width: 224, height: 224 });
  });
  it('detects truncation in the scan data and before the frame header', () => {
    const good = jpg(64, 48);
    fails(good.subarray(0, good.length - 10), /truncated JPEG: no end-of-image marker/);
    fails(good.subarray(0, 30), /truncated JPEG: the file ends before the frame header/);
    expect(sniffFormat(good)).toBe('jpeg');
  });
  it('accepts padding after the end-of-image marker', () => {
    expect(read(Buffer.concat([jpg(8, 8), Buffer.alloc(100)]))).toMatchObject({ width: 8, height: 8 });
  });
  it('refuses a wrong signature', () => {
    const bad = Buffer.from(jpg(8, 8));
    bad[1] = 0x00;
    fails(bad, /not a JPEG file/, 'format', 'jpeg');
  });
});

describe('WAV headers', () => {
  it('reads 16-bit PCM: rate, channels, depth, duration', () => {
    expect(read(toneWav(20000, 2, 'bear', 's01', 0, 1))).toEqual({
      kind: 'audio',
      format: 'wav',
      sample_rate: 20000,
      channels: 1,
      bit_depth: 16,
      duration_s: 2,
    });
    expect(read(wav({ channels: 2, rate: 44100, frames: 44100 / 2 }))).toMatchObject({ channels: 2, sample_rate: 44100, duration_s: 0.5 });
  });
  it('reads 24-bit PCM, 32-bit float and WAVE_FORMAT_EXTENSIBLE', () => {
    expect(read(wav({ bits: 24, frames: 2000 }))).toMatchObject({ bit_depth: 24, duration_s: 0.1 });
    expect(read(wav({ format: 3, bits: 32, frames: 4000 }))).toMatchObject({ bit_depth: 32, duration_s: 0.2 });
    expect(read(wav({ extensibleSub: 1, bits: 16, channels: 2, frames: 20000 }))).toMatchObject({ channels: 2, duration_s: 1 });
  });
  it('skips other chunks (LIST, odd-sized) before the audio', () => {
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.alloc(1)]);
    expect(read(wav({ extraBefore: list, frames: 200 }))).toMatchObject({ duration_s: 0.01 });
  });
  it('detects a truncated data chunk, a missing data chunk, a wrong signature and an empty file', () => {
    const good = pcm16Wav(new Float32Array(1000), 20000);
    fails(good.subarray(0, good.length - 100), /truncated WAV: the data chunk declares 2000 bytes but the file holds 1900/, 'data');
    fails(good.subarray(0, 36), /no data chunk/, 'data');
    fails(good.subarray(0, good.length - 1), /truncated WAV/, 'data');
    const bad = Buffer.from(good);
    bad.write('RIFX', 0, 'ascii');
    fails(bad, /not a WAV file/, 'format', 'wav');
    fails(Buffer.alloc(0), /empty file/);
  });
  it('refuses encodings browsers cannot be relied on to play (e.g. μ-law) and empty clips', () => {
    fails(wav({ format: 7, bits: 8 }), /unsupported WAV encoding \(format tag 7\)/, 'format');
    fails(wav({ frames: 0 }), /holds no samples/);
  });
});
