/**
 * Getting stimulus files into the browser's HTTP cache before they are needed, and surviving a
 * dropped connection while doing it. Stimulus URLs name immutable content (`Cache-Control:
 * immutable`), so once fetched a file is served from the cache even offline; jsPsych's preload
 * step that follows then only decodes. jsPsych's own preloader gives up on the first error (and
 * remembers a failed audio file as loaded), so the fetching and retrying happen here.
 */

export interface PrefetchProgress {
  loaded: number;
  total: number;
  /** Set while waiting to retry after a failure. */
  retrying: string | null;
}

const MAX_BACKOFF_MS = 15_000;

export class Prefetcher {
  private readonly files = new Map<string, Promise<void>>();
  private readonly queue: { url: string; start: () => void }[] = [];
  private active = 0;
  private readonly retryListeners = new Set<(url: string, reason: string) => void>();

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly concurrency = 4,
  ) {}

  /** Called on every failed attempt; returns an unsubscribe function. */
  onRetry(listener: (url: string, reason: string) => void): () => void {
    this.retryListeners.add(listener);
    return () => this.retryListeners.delete(listener);
  }

  private async fetchWithRetry(url: string): Promise<void> {
    for (let delay = 500; ; delay = Math.min(MAX_BACKOFF_MS, delay * 2)) {
      let status = 0;
      let reason: string;
      try {
        const res = await this.fetchFn(url, { credentials: 'same-origin' });
        status = res.status;
        if (res.ok) {
          // Reading the body to the end is what puts the file in the cache.
          await res.arrayBuffer();
          return;
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

  private schedule(url: string): Promise<void> {
    let p = this.files.get(url);
    if (!p) {
      p = new Promise<void>((resolve, reject) => {
        this.queue.push({
          url,
          start: () => {
            this.active++;
            this.fetchWithRetry(url)
              .then(resolve, reject)
              .finally(() => {
                this.active--;
                this.next();
              });
          },
        });
      });
      this.files.set(url, p);
      this.next();
    }
    return p;
  }

  private next(): void {
    while (this.active < this.concurrency && this.queue.length > 0) this.queue.shift()!.start();
  }

  /** Fetches in the background (e.g. the rest of the study while the participant works). */
  background(urls: string[]): void {
    for (const u of urls) this.schedule(u).catch(() => {});
  }

  /** Resolves when every file is in the cache; asked-for files jump the background queue. */
  ensure(urls: string[], onProgress: (p: PrefetchProgress) => void = () => {}): Promise<void> {
    const unique = [...new Set(urls)];
    // Move these to the front of the queue.
    const wanted = new Set(unique);
    const front = this.queue.filter((q) => wanted.has(q.url));
    const rest = this.queue.filter((q) => !wanted.has(q.url));
    this.queue.splice(0, this.queue.length, ...front, ...rest);
    let loaded = 0;
    onProgress({ loaded, total: unique.length, retrying: null });
    return Promise.all(
      unique.map((u) =>
        this.schedule(u).then(() => {
          loaded++;
          onProgress({ loaded, total: unique.length, retrying: null });
        }),
      ),
    ).then(() => undefined);
  }
}
