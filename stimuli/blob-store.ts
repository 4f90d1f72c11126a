/**
 * Content-addressed file storage: every stimulus is kept once, under its sha256, as
 * `<root>/<first two hex>/<sha256>.<ext>`. URLs built from the hash reveal nothing about the
 * stimulus (docs/design.md §7) and can be cached forever.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Media } from './manifest.ts';

export const BLOB_EXTENSIONS = ['png', 'jpg', 'wav'] as const;
export type BlobExt = (typeof BLOB_EXTENSIONS)[number];

export const MIME_BY_EXT: Record<BlobExt, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  wav: 'audio/wav',
};

/** The stored file extension of an imported stimulus. */
export function extOfMedia(media: Media): BlobExt {
  if (media.kind === 'audio') return 'wav';
  return media.format === 'png' ? 'png' : 'jpg';
}

export interface BlobRef {
  sha256: string;
  ext: BlobExt;
  bytes: number;
}

const BLOB_NAME = /^([0-9a-f]{64})\.(png|jpg|wav)$/;

/** Parses `<sha256>.<ext>`; anything else (traversal, other names) gives null. */
export function parseBlobName(name: string): { sha256: string; ext: BlobExt } | null {
  const m = BLOB_NAME.exec(name);
  return m ? { sha256: m[1]!, ext: m[2] as BlobExt } : null;
}

/** Streams a file through sha256, so memory stays flat however large the file. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), bytes };
}

export class BlobStore {
  constructor(readonly root: string) {}

  /** Absolute path of a blob; only ever built from a validated hash and extension. */
  pathOf(sha256: string, ext: BlobExt): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), `${sha256}.${ext}`);
  }

  async has(sha256: string, ext: BlobExt): Promise<boolean> {
    try {
      const st = await fs.lstat(this.pathOf(sha256, ext));
      return st.isFile();
    } catch {
      return false;
    }
  }

  /**
   * Copies a file in under its hash, if it is not there already. The copy goes to a temporary name
   * and is renamed into place, so a crash never leaves a truncated blob under a valid name.
   */
  async putFile(file: string, ext: BlobExt, known?: { sha256: string; bytes: number }): Promise<BlobRef> {
    const { sha256, bytes } = known ?? (await hashFile(file));
    if (!(await this.has(sha256, ext))) {
      const dest = this.pathOf(sha256, ext);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
      await fs.copyFile(file, tmp);
      await fs.rename(tmp, dest);
    }
    return { sha256, ext, bytes };
  }

  async putBuffer(data: Uint8Array, ext: BlobExt): Promise<BlobRef> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (!(await this.has(sha256, ext))) {
      const dest = this.pathOf(sha256, ext);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, dest);
    }
    return { sha256, ext, bytes: data.byteLength };
  }
}
