/**
 * Serving stimulus files under their keyed names: `/stimuli/<64 hex>.<ext>` (stimulus-keys.ts).
 *
 * This is the hottest path of a launch (every participant preloads hundreds of files at once), so
 * it runs on bare node:http ahead of Express, from an in-memory cache. A name stands for immutable
 * content, so the ETag is the name (never the content hash, which would undo the keying) and the
 * files may be cached forever. Only names of the exact forms the server issues are looked up (no
 * path from the URL reaches the file system), and a symlink planted in the store is refused.
 *
 * A file enters the cache only after its bytes hash to the name it is stored under: a file changed
 * or damaged on disk is never served (500, logged), and the cache never keeps it. The headphone
 * check's per-session sounds are synthesised here from the parameters their name encrypts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type BlobExt, type BlobStore, MIME_BY_EXT } from '../stimuli/blob-store.ts';
import { envNumber } from './env-number.ts';
import rangeParser from 'range-parser';
import { decodeHeadphoneParams, headphoneTrialWav } from './headphone-stimuli.ts';
import type { StimulusKeys } from './stimulus-keys.ts';

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

function cachedFile(body: Buffer, mime: string, name: string): CachedFile {
  const etag = `"${name.slice(0, name.indexOf('.'))}"`;
  const common = [
    'ETag',
    etag,
    'Cache-Control',
    'public, max-age=31536000, immutable',
    'Accept-Ranges',
    'bytes',
    'X-Content-Type-Options',
    'nosniff',
    // Stimuli may be fetched by pages on another origin (a CDN set-up serves them too).
    'Cross-Origin-Resource-Policy',
    'cross-origin',
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

export interface StimulusFileServerOptions {
  keys: StimulusKeys;
  /** Where a file that fails its hash check is reported. */
  logger?: Pick<Logger, 'error'>;
  cacheBytes?: number;
}

export function stimulusFileServer(blobs: BlobStore, opts: StimulusFileServerOptions): StimulusFileServer {
  // A launch touches every file of the set; the paper's 6,800 images are ~0.9 GB, so the default
  // holds a few hundred MB of the hottest and the rest comes from the OS page cache.
  const cache = new FileCache(opts.cacheBytes ?? envNumber('METAMER_STIMULUS_CACHE_MB', 512) * 1024 * 1024);

  async function load(name: string): Promise<CachedFile | 'corrupt' | undefined> {
    const resolved = opts.keys.resolve(name);
    if (!resolved) return undefined;
    if (resolved.kind === 'generated') {
      const params = decodeHeadphoneParams(resolved.params);
      if (!params) return undefined;
      const f = cachedFile(headphoneTrialWav(params), MIME_BY_EXT.wav, name);
      cache.set(name, f);
      return f;
    }
    const ext = resolved.ext as BlobExt;
    const file = blobs.pathOf(resolved.sha256, ext);
    let body: Buffer;
    try {
      const st = await fs.lstat(file);
      if (!st.isFile()) return undefined;
      body = await fs.readFile(file);
    } catch {
      return undefined;
    }
    if (createHash('sha256').update(body).digest('hex') !== resolved.sha256) {
      opts.logger?.error(
        { file, bytes: body.length },
        'stimulus file does not match its hash: not served (re-import its set to restore it)',
      );
      return 'corrupt';
    }
    const f = cachedFile(body, MIME_BY_EXT[ext], name);
    cache.set(name, f);
    return f;
  }

  function plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'X-Content-Type-Options': 'nosniff',
    });
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
      res.writeHead(206, [
        ...f.partial,
        'Content-Range',
        `bytes ${range.start}-${range.end}/${f.body.length}`,
        'Content-Length',
        String(range.end - range.start + 1),
      ]);
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
      return load(name).then((f) => {
        if (f === 'corrupt') return plain(res, 500, 'This stimulus file is damaged on the server.\n');
        return f ? respond(req, res, f) : plain(res, 404, 'Not Found\n');
      });
    },
  };
}
