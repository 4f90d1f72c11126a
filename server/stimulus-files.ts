/**
 * Serving stimulus files by content hash: `/stimuli/<sha256>.<ext>`.
 *
 * This is the hottest path of a launch (every participant preloads hundreds of files at once), so
 * it runs on bare node:http ahead of Express, from an in-memory cache. A hash names immutable
 * content, so the ETag is the hash and the files may be cached forever. Only names of the exact
 * form `<64 hex>.<png|jpg|wav>` are looked up (no path from the URL reaches the file system), and
 * a symlink planted in the store is refused.
 */
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BlobStore, MIME_BY_EXT, parseBlobName } from '../stimuli/blob-store.ts';
import { envNumber } from './env-number.ts';
import rangeParser from 'range-parser';

export const STIMULUS_PREFIX = '/stimuli/';

interface CachedFile {
  body: Buffer;
  etag: string;
  /** Response headers, built once per file: the flat [name, value, …] form writeHead takes fastest. */
  ok: string[];
  notModified: string[];
  /** The same, without Content-Length, for ranges. */
  partial: string[];
}

function cachedFile(body: Buffer, mime: string, sha256: string): CachedFile {
  const etag = `"${sha256}"`;
  const common = [
    'ETag', etag,
    'Cache-Control', 'public, max-age=31536000, immutable',
    'Accept-Ranges', 'bytes',
    'X-Content-Type-Options', 'nosniff',
    // Stimuli may be fetched by pages on another origin (a CDN set-up serves them too).
    'Cross-Origin-Resource-Policy', 'cross-origin',
  ];
  return {
    body,
    etag,
    ok: ['Content-Type', mime, 'Content-Length', String(body.length), ...common],
    notModified: common,
    partial: ['Content-Type', mime, ...common],
  };
}

/** Least-recently-used cache bounded by total bytes (a Map iterates in insertion order). */
class FileCache {
  private readonly files = new Map<string, CachedFile>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  get(key: string): CachedFile | undefined {
    const f = this.files.get(key);
    if (f) {
      this.files.delete(key);
      this.files.set(key, f);
    }
    return f;
  }

  set(key: string, f: CachedFile): void {
    if (f.body.length > this.maxBytes) return;
    // Several requests for one file that missed together each load it: count it once.
    const old = this.files.get(key);
    if (old) {
      this.files.delete(key);
      this.bytes -= old.body.length;
    }
    this.files.set(key, f);
    this.bytes += f.body.length;
    for (const [k, old] of this.files) {
      if (this.bytes <= this.maxBytes) break;
      this.files.delete(k);
      this.bytes -= old.body.length;
    }
  }
}

function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | null {
  const ranges = rangeParser(size, header, { combine: true });
  if (ranges === -1) return 'invalid';
  // Malformed, another unit, or several ranges: the whole file, as RFC 9110 allows.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null;
  return ranges[0]!;
}

export interface StimulusFileServer {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export function stimulusFileServer(blobs: BlobStore, opts: { cacheBytes?: number } = {}): StimulusFileServer {
  // A launch touches every file of the set; the paper's 6,800 images are ~0.9 GB, so the default
  // holds a few hundred MB of the hottest and the rest comes from the OS page cache.
  const cache = new FileCache(opts.cacheBytes ?? envNumber('METAMER_STIMULUS_CACHE_MB', 512) * 1024 * 1024);

  async function load(name: string): Promise<CachedFile | undefined> {
    const parsed = parseBlobName(name);
    if (!parsed) return undefined;
    const file = blobs.pathOf(parsed.sha256, parsed.ext);
    try {
      const st = await fs.lstat(file);
      if (!st.isFile()) return undefined;
      const f = cachedFile(await fs.readFile(file), MIME_BY_EXT[parsed.ext], parsed.sha256);
      cache.set(name, f);
      return f;
    } catch {
      return undefined;
    }
  }

  function plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff' });
    res.end(text);
  }

  function respond(req: IncomingMessage, res: ServerResponse, f: CachedFile): void {
    if (req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, f.notModified);
      return void res.end();
    }
    const rangeHeader = req.headers.range;
    const range = rangeHeader ? parseRange(rangeHeader, f.body.length) : null;
    if (range === 'invalid') {
      res.writeHead(416, [...f.notModified, 'Content-Range', `bytes */${f.body.length}`, 'Content-Length', '0']);
      return void res.end();
    }
    if (range) {
      res.writeHead(206, [...f.partial, 'Content-Range', `bytes ${range.start}-${range.end}/${f.body.length}`, 'Content-Length', String(range.end - range.start + 1)]);
      return void res.end(req.method === 'HEAD' ? undefined : f.body.subarray(range.start, range.end + 1));
    }
    res.writeHead(200, f.ok);
    res.end(req.method === 'HEAD' ? undefined : f.body);
  }

  return {
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        plain(res, 405, 'Method Not Allowed\n');
        return Promise.resolve();
      }
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const name = url.slice(STIMULUS_PREFIX.length, q < 0 ? undefined : q);
      // A cached file is answered synchronously: no promise, no await, on the hottest path.
      const hit = cache.get(name);
      if (hit) {
        respond(req, res, hit);
        return Promise.resolve();
      }
      return load(name).then((f) => (f ? respond(req, res, f) : plain(res, 404, 'Not Found\n')));
    },
  };
}
