/**
 * One stimulus file read once: headers parsed, bytes hashed, and (when importing) the same bytes
 * written to staging. Files up to a few MB (every realistic stimulus: a 224×224 PNG is ~100 kB, a
 * 2 s 20 kHz WAV 80 kB) are read whole; larger ones are parsed with positional reads and streamed
 * through the hash, so memory stays bounded by the read buffer whatever the file size.
 */
import { createHash } from 'node:crypto';
import { type Stats, createReadStream, createWriteStream, readSync } from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobExt } from './blob-store.ts';
import type { BlobStaging } from './blob-staging.ts';
import type { Media } from './manifest.ts';
import { type ByteSource, bufferSource, checkPngPixelData, type MediaFormat, readMediaHeader } from './media-headers.ts';

export const WHOLE_FILE_LIMIT = 8 * 1024 * 1024;

export interface StimulusFileInfo {
  sha256: string;
  bytes: number;
  media: Media;
}

export function blobExtOf(media: Media): BlobExt {
  if (media.kind === 'audio') return 'wav';
  return media.format === 'png' ? 'png' : 'jpg';
}

/**
 * Reads, checks and hashes a file; with `staging`, also stores its bytes there. Throws
 * MediaHeaderError for bad content and a Node error (ENOENT, EACCES) for unreadable files.
 */
export async function readStimulusFile(abs: string, expected: MediaFormat | undefined, staging?: BlobStaging): Promise<StimulusFileInfo> {
  // One open for both the size and the bytes (a 100,000-file import is mostly syscalls).
  const fh0 = await fs.open(abs, 'r');
  let st: Stats;
  let small: Buffer | null = null;
  try {
    st = await fh0.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    if (st.size <= WHOLE_FILE_LIMIT) {
      // One read of the known size (FileHandle.readFile would stat again and read in chunks).
      const buf = Buffer.allocUnsafe(st.size);
      let got = 0;
      while (got < st.size) {
        const { bytesRead } = await fh0.read(buf, got, st.size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      small = buf.subarray(0, got);
    }
  } finally {
    await fh0.close();
  }
  if (small) {
    const buf = small;
    const media = readMediaHeader(bufferSource(buf), expected);
    if (media.kind === 'image' && media.format === 'png') await checkPngPixelData(bufferSource(buf));
    const sha256 = createHash('sha256').update(buf).digest('hex');
    if (staging) await staging.putBuffer(sha256, blobExtOf(media), buf);
    return { sha256, bytes: buf.byteLength, media };
  }
  const fh = await fs.open(abs, 'r');
  let media: Media;
  try {
    const src: ByteSource = {
      size: st.size,
      read(offset, length) {
        const n = Math.max(0, Math.min(length, st.size - offset));
        const out = Buffer.alloc(n);
        const got = n > 0 ? readSync(fh.fd, out, 0, n, offset) : 0;
        return out.subarray(0, got);
      },
    };
    media = readMediaHeader(src, expected);
    if (media.kind === 'image' && media.format === 'png') await checkPngPixelData(src);
  } finally {
    await fh.close();
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  if (staging) {
    const tmp = staging.tempPath();
    await pipeline(createReadStream(abs), tee, createWriteStream(tmp));
    const sha256 = hash.digest('hex');
    await staging.adopt(tmp, sha256, blobExtOf(media));
    return { sha256, bytes, media };
  }
  await pipeline(createReadStream(abs), tee, async (chunks: AsyncIterable<Buffer>) => {
    for await (const _ of chunks) void _;
  });
  return { sha256: hash.digest('hex'), bytes, media };
}
