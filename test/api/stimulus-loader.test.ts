/**
 * The participant page's progressive loader (experiment/stimulus-loader.ts, prefetch.ts,
 * link-meter.ts) against a real HTTP server on 127.0.0.1 whose responses share one paced "line"
 * of a set throughput, as downloads share a participant's connection. Decoding is the browser's
 * and is replaced here by a function that notes what it was asked to decode.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkMeter } from '../../experiment/link-meter.ts';
import { Prefetcher } from '../../experiment/prefetch.ts';
import { StimulusLoader, type LoadingPolicy } from '../../experiment/stimulus-loader.ts';

interface Line {
  url: string;
  /** Requests in arrival order, with the downloads in flight when each arrived. */
  log: { path: string; inFlight: string[] }[];
  /** Bytes the line has delivered so far. */
  sent(): number;
  maxInFlight(): number;
  close(): Promise<void>;
}

const TICK_MS = 10;

/**
 * Every file is `size` bytes; the line delivers `bytesPerSecond` in total, shared evenly by the
 * responses in flight. `status(path, attempt)` may answer something else than 200.
 */
async function startLine(opts: {
  size: number;
  bytesPerSecond: number;
  status?: (path: string, attempt: number) => number;
}): Promise<Line> {
  const log: Line['log'] = [];
  const active = new Set<{ path: string; res: http.ServerResponse; left: number }>();
  const attempts = new Map<string, number>();
  let sent = 0;
  let maxInFlight = 0;
  const pace = setInterval(() => {
    if (active.size === 0) return;
    const share = Math.max(1, Math.floor((opts.bytesPerSecond * TICK_MS) / 1000 / active.size));
    for (const a of [...active]) {
      const n = Math.min(share, a.left);
      a.res.write(Buffer.alloc(n, 7));
      a.left -= n;
      sent += n;
      if (a.left === 0) {
        active.delete(a);
        a.res.end();
      }
    }
  }, TICK_MS);
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    const attempt = (attempts.get(path) ?? 0) + 1;
    attempts.set(path, attempt);
    log.push({ path, inFlight: [...active].map((a) => a.path) });
    const status = opts.status?.(path, attempt) ?? 200;
    if (status !== 200) return void res.writeHead(status).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(opts.size) });
    active.add({ path, res, left: opts.size });
    maxInFlight = Math.max(maxInFlight, active.size);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    sent: () => sent,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise((r) => {
        clearInterval(pace);
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let lines: Line[] = [];
afterEach(async () => {
  await Promise.all(lines.map((l) => l.close()));
  lines = [];
});
async function line(opts: Parameters<typeof startLine>[0]): Promise<Line> {
  const l = await startLine(opts);
  lines.push(l);
  return l;
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A loader over `items` trials, trial i showing `/s<i>` and, every other trial, the shared `/mask`. */
function study(base: string, items: number, policy?: LoadingPolicy) {
  const prefetcher = new Prefetcher(fetch);
  const decoded: string[] = [];
  const loader = new StimulusLoader(
    prefetcher,
    async (url) => {
      decoded.push(new URL(url).pathname);
      return { url };
    },
    policy,
  );
  for (let i = 0; i < items; i++) loader.add(i, i % 2 === 0 ? [`${base}/s${i}`, `${base}/mask`] : [`${base}/s${i}`]);
  return { prefetcher, loader, decoded };
}

describe('progressive loading over a real HTTP line', () => {
  it('the first trial is ready once its own files are in, long before the rest of the study', async () => {
    const l = await line({ size: 20_000, bytesPerSecond: 200_000 });
    const { loader, decoded } = study(l.url, 40);
    loader.start();
    await loader.ready(0);
    expect(loader.isReady(0)).toBe(true);
    expect(decoded.slice(0, 2).sort()).toEqual(['/mask', '/s0']);
    // 41 files of 20 KB are 820 KB: the first trial did not wait for a quarter of them.
    expect(l.sent()).toBeLessThan(820_000 / 4);
    expect(
      l.log
        .slice(0, 2)
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/mask', '/s0']);
  });

  it('fetches in the order of first use and never splits a slow line between more than two downloads', async () => {
    const l = await line({ size: 20_000, bytesPerSecond: 100_000 });
    const { loader } = study(l.url, 12, { horizonMs: 60_000, minAheadBytes: 1 << 20, maxAheadBytes: 8 << 20 });
    loader.start();
    for (let i = 0; i < 12; i++) await loader.ready(i);
    const expected = ['/s0', '/mask', ...Array.from({ length: 11 }, (_, i) => `/s${i + 1}`)];
    expect(l.log.map((r) => r.path).slice(2)).toEqual(expected.slice(2));
    expect(l.maxInFlight()).toBeLessThanOrEqual(2);
    // Each file once: the loader never asks again for what it has.
    expect(new Set(l.log.map((r) => r.path)).size).toBe(l.log.length);
  });

  it('stays ahead by what the measured line carries in the horizon: more on a fast line than on a slow one', async () => {
    const policy = { horizonMs: 1000, minAheadBytes: 30_000, maxAheadBytes: 10 << 20 };
    const ahead = async (bytesPerSecond: number) => {
      const l = await line({ size: 10_000, bytesPerSecond });
      const { loader } = study(l.url, 200, policy);
      loader.start();
      await loader.ready(0);
      // The participant stays on the first trial: the loader fetches ahead until the budget stops it.
      await until(() => loader.state().inFlight === 0 && loader.state().started > 3, 'the loader to stop');
      return { ...loader.state(), lineBytes: (bytesPerSecond * policy.horizonMs) / 1000 };
    };
    const slow = await ahead(60_000);
    const fast = await ahead(600_000);
    for (const s of [slow, fast]) {
      // Never more ahead than the line carries in the horizon (give or take the file that crossed it).
      expect(s.aheadBytes).toBeLessThanOrEqual(Math.max(policy.minAheadBytes, s.lineBytes) + 10_000);
      expect(s.started).toBeLessThan(s.files);
    }
    // The budget is the measured throughput times the horizon, so it grows with the line.
    expect(slow.budgetBytes).toBeLessThan(60_000 * 1.2);
    expect(fast.budgetBytes).toBeGreaterThan(3 * slow.budgetBytes);
    expect(fast.started).toBeGreaterThan(slow.started);
  });

  it('moving on lets the next files in and lets go of decoded files of passed trials', async () => {
    const l = await line({ size: 5_000, bytesPerSecond: 2_000_000 });
    const policy = { horizonMs: 100, minAheadBytes: 20_000, maxAheadBytes: 20_000 };
    const { loader, decoded } = study(l.url, 30, policy);
    loader.start();
    await loader.ready(0);
    await until(() => loader.state().inFlight === 0, 'the loader to stop');
    const before = loader.state().started;
    expect(before).toBeLessThan(20);
    for (let i = 1; i <= 10; i++) await loader.ready(i);
    await until(() => loader.state().inFlight === 0, 'the loader to stop');
    expect(loader.state().started).toBeGreaterThan(before);
    // Nothing of trials 0–9 is held decoded any more; trial 10's files are.
    for (let i = 0; i < 10; i++) expect(loader.decodedFile(`${l.url}/s${i}`)).toBeNull();
    expect(loader.decodedFile(`${l.url}/s10`)).not.toBeNull();
    expect(loader.decodedFile(`${l.url}/mask`)).not.toBeNull();
    // Decoding runs ahead a little, never through the whole study.
    expect(decoded.filter((d) => d !== '/mask').length).toBeLessThan(16);
  });

  it('while a trial waits, the line is its own: nothing for later trials starts', async () => {
    const l = await line({ size: 30_000, bytesPerSecond: 150_000 });
    const { loader } = study(l.url, 40, { horizonMs: 100, minAheadBytes: 60_000, maxAheadBytes: 60_000 });
    loader.start();
    await loader.ready(0);
    await until(() => loader.state().inFlight === 0, 'the loader to stop');
    // The participant is suddenly at trial 30 (a resumed session would be): its file comes next.
    const requestsBefore = l.log.length;
    const waiting = loader.ready(30);
    expect(loader.isReady(30)).toBe(false);
    await waiting;
    await until(() => l.log.some((r) => /\/s3[1-9]/.test(r.path)), "the next trial's file to be asked for");
    const trialOf = (path: string) => Number(/\/s(\d+)/.exec(path)?.[1] ?? -1);
    const during = l.log.slice(requestsBefore);
    expect(during[0]?.path).toBe('/s30');
    // No file of a later trial shared the line with trial 30's.
    for (const r of during.filter((x) => trialOf(x.path) > 30)) expect(r.inFlight).not.toContain('/s30');
    expect(during.some((r) => trialOf(r.path) > 30)).toBe(true);
    // Trials 1–29 were passed: their files are never fetched.
    expect(during.some((r) => trialOf(r.path) > 0 && trialOf(r.path) < 30)).toBe(false);
  });

  it('retries a failing file with backoff until it arrives, and names a missing one', async () => {
    const l = await line({
      size: 1_000,
      bytesPerSecond: 1_000_000,
      status: (path, attempt) => (path === '/s1' && attempt <= 2 ? 503 : path === '/s2' ? 404 : 200),
    });
    const { loader, prefetcher } = study(l.url, 3);
    const retries: string[] = [];
    prefetcher.onRetry((url, reason) => retries.push(`${new URL(url).pathname} ${reason}`));
    loader.start();
    await loader.ready(0);
    await loader.ready(1);
    expect(retries).toEqual(['/s1 HTTP 503', '/s1 HTTP 503']);
    await expect(loader.ready(2)).rejects.toThrow(`${l.url}/s2: HTTP 404`);
  });
});

describe('the line as measured from downloads', () => {
  it('divides the bytes by the time any download was in flight: overlaps once, idle gaps not at all', () => {
    const m = new LinkMeter();
    expect(m.throughput()).toBeNull();
    m.record({ start: 0, headers: 50, end: 1000, bytes: 100_000 });
    m.record({ start: 500, headers: 540, end: 1500, bytes: 100_000 });
    // 10 s idle, then one more.
    m.record({ start: 11_500, headers: 11_560, end: 12_000, bytes: 50_000 });
    expect(m.throughput()).toBeCloseTo(250_000 / 2000);
    expect(m.latency()).toBe(40);
    expect(m.meanBytes()).toBeCloseTo(250_000 / 3);
  });
});
