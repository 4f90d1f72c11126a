/**
 * Getting one stimulus file into the browser's HTTP cache, and surviving a dropped connection
 * while doing it. Stimulus URLs name immutable content (`Cache-Control: immutable`), so once
 * fetched a file is served from the cache even offline, and decoding it (an <img>, jsPsych's
 * WebAudio player) reads it from there. jsPsych's own preloader gives up on the first error (and
 * remembers a failed audio file as loaded), so the fetching and retrying happen here. Which file
 * comes next and how far ahead to go is the stimulus loader's (stimulus-loader.ts); every download
 * is measured here (link-meter.ts) so that the loader can adapt to the line.
 */
import { LinkMeter } from './link-meter.ts';

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;

export class Prefetcher {
  readonly link = new LinkMeter();
  private readonly files = new Map<string, Promise<number>>();
  private readonly retryListeners = new Set<(url: string, reason: string) => void>();

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Called on every failed attempt; returns an unsubscribe function. */
  onRetry(listener: (url: string, reason: string) => void): () => void {
    this.retryListeners.add(listener);
    return () => this.retryListeners.delete(listener);
  }

  /**
   * Fetches the file into the cache, retrying with backoff until it arrives; resolves with its size
   * in bytes. Asking again for the same file gets the first request's answer. Rejects only for a
   * file the server says does not exist.
   */
  fetch(url: string): Promise<number> {
    let p = this.files.get(url);
    if (!p) {
      p = this.fetchWithRetry(url);
      this.files.set(url, p);
    }
    return p;
  }

  private async fetchWithRetry(url: string): Promise<number> {
    for (let delay = FIRST_BACKOFF_MS; ; delay = Math.min(MAX_BACKOFF_MS, delay * 2)) {
      let status = 0;
      let reason: string;
      const start = this.now();
      try {
        const res = await this.fetchFn(url, { credentials: 'same-origin' });
        const headers = this.now();
        status = res.status;
        if (res.ok) {
          // Reading the body to the end is what puts the file in the cache.
          const bytes = (await res.arrayBuffer()).byteLength;
          this.link.record({ start, headers, end: this.now(), bytes });
          return bytes;
        }
        reason = `HTTP ${res.status}`;
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
      }
      // A missing file will not appear by retrying: fail loudly.
      if (status === 404 || status === 410) throw new Error(`${url}: ${reason}`);
      for (const l of this.retryListeners) l(url, reason);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
