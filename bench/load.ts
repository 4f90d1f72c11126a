/**
 * HTTP load for the benchmarks: closed-loop (N connections, each sends the next request when the
 * last answered: throughput) and open-loop (requests leave on a Poisson schedule whatever the
 * answers do, and latency counts from the scheduled time, so a stalled server cannot hide its
 * queue: no coordinated omission).
 */
import http from 'node:http';
import { mulberry32 } from '../stimuli/random.ts';

export interface LoadRequest {
  path: string;
  body: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  statuses: Record<number, number>;
  seconds: number;
  /** Latencies in ms, sorted. */
  latencies: Float64Array;
  /** The most requests in flight at once (open loop: shows the arrivals did not wait for answers). */
  maxInFlight: number;
}

function post(agent: http.Agent, base: URL, r: LoadRequest): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: r.path,
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(r.body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(r.body);
  });
}

function finish(latencies: number[], statuses: Record<number, number>, seconds: number, maxInFlight: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const ok = statuses[200] ?? 0;
  const sent = latencies.length;
  return { sent, ok, errors: sent - ok, statuses, seconds, latencies: sorted, maxInFlight };
}

/** `connections` requests in flight at a time, each sent when the last answered, against the server at `baseUrl`. */
export async function closedLoop(
  baseUrl: string,
  requests: Iterator<LoadRequest>,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const next = requests.next();
        if (next.done) return;
        const start = performance.now();
        const status = await post(agent, base, next.value);
        latencies.push(performance.now() - start);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return finish(latencies, statuses, (performance.now() - t0) / 1000, connections);
}

/** Requests sent on a Poisson schedule at `perSecond`, each without waiting for any answer. */
export async function openLoop(
  baseUrl: string,
  requests: Iterator<LoadRequest>,
  perSecond: number,
  seconds: number,
  seed = 1,
): Promise<LoadResult> {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  let inFlight = 0;
  let maxInFlight = 0;
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const random = mulberry32(seed);
  // In (0, 1]: the logarithm below must not see 0.
  const uniform = () => 1 - random();
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let scheduled = t0;
  while (scheduled - t0 < seconds * 1000) {
    scheduled += (-Math.log(uniform()) / perSecond) * 1000;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const next = requests.next();
    if (next.done) break;
    const at = scheduled;
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    pending.push(
      post(agent, base, next.value).then((status) => {
        inFlight--;
        latencies.push(performance.now() - at);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return finish(latencies, statuses, (performance.now() - t0) / 1000, maxInFlight);
}
