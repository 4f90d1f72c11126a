/**
 * Imports are all-or-nothing: files are written into a hidden staging folder inside the blob store
 * while the set is checked, and moved to their content-addressed names only when the whole set
 * has passed. On any problem the staging folder is removed, so the store never gains a file from
 * a set that was refused. The bytes that were hashed are the bytes that get stored (no second read
 * of the source file that could see it changed in between).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlobExt, BlobStore } from './blob-store.ts';

const STAGING_PREFIX = '.staging-';
/** Staging folders older than this were left by a crashed import and can go. */
const STALE_MS = 24 * 3600 * 1000;

export class BlobStaging {
  private readonly staged = new Map<string, BlobExt>();
  private tmpCounter = 0;

  private constructor(
    readonly store: BlobStore,
    readonly dir: string,
  ) {}

  static async open(store: BlobStore): Promise<BlobStaging> {
    await fs.mkdir(store.root, { recursive: true });
    await removeStale(store.root);
    const dir = path.join(store.root, `${STAGING_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(dir);
    return new BlobStaging(store, dir);
  }

  private key(sha256: string, ext: BlobExt): string {
    return `${sha256}.${ext}`;
  }

  /** True when the blob is in the store already or staged in this import: no need to write it. */
  async needs(sha256: string, ext: BlobExt): Promise<boolean> {
    if (this.staged.has(this.key(sha256, ext))) return false;
    return !(await this.store.has(sha256, ext));
  }

  async putBuffer(sha256: string, ext: BlobExt, data: Uint8Array): Promise<void> {
    if (!(await this.needs(sha256, ext))) return;
    this.staged.set(this.key(sha256, ext), ext);
    await fs.writeFile(path.join(this.dir, this.key(sha256, ext)), data);
  }

  /** A scratch path in the staging folder, for streaming a large file in before its hash is known. */
  tempPath(): string {
    return path.join(this.dir, `tmp-${++this.tmpCounter}`);
  }

  /** Gives a streamed temp file its content name (or drops it when that blob is known already). */
  async adopt(tmp: string, sha256: string, ext: BlobExt): Promise<void> {
    if (!(await this.needs(sha256, ext))) {
      await fs.rm(tmp, { force: true });
      return;
    }
    this.staged.set(this.key(sha256, ext), ext);
    await fs.rename(tmp, path.join(this.dir, this.key(sha256, ext)));
  }

  get stagedCount(): number {
    return this.staged.size;
  }

  /** Moves every staged file to its content-addressed place; returns how many were new. */
  async commit(): Promise<number> {
    let added = 0;
    const keys = [...this.staged.keys()].sort();
    // One mkdir per two-hex-digit folder, not per file; renames within one filesystem are cheap
    // metadata operations, so a few in flight keep the disk queue full.
    const prefixes = [...new Set(keys.map((k) => k.slice(0, 2)))];
    await Promise.all(prefixes.map((p) => fs.mkdir(path.join(this.store.root, p), { recursive: true })));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const [sha256, ext] = key.split('.') as [string, BlobExt];
        if (await this.store.has(sha256, ext)) continue; // another import stored it meanwhile
        await fs.rename(path.join(this.dir, key), this.store.pathOf(sha256, ext));
        added++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await this.discard();
    return added;
  }

  async discard(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}

async function removeStale(root: string): Promise<void> {
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith(STAGING_PREFIX)) continue;
    const p = path.join(root, e.name);
    const st = await fs.stat(p).catch(() => null);
    if (st && Date.now() - st.mtimeMs > STALE_MS) await fs.rm(p, { recursive: true, force: true });
  }
}
