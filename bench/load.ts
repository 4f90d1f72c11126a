/**
 * HTTP load for the benchmarks: closed-loop (N connections, each sends the next request when the
 * last answered: throughput) and open-loop (requests leave on a Poisson schedule whatever the
 * answers do, and latency counts from the scheduled time, so a stalled server cannot hide its
 * queue: no coordinated omission).
 */
import http from 'node:http';

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
}

function post(agent: http.Agent, port: number, r: LoadRequest): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: r.path, agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(r.body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(r.body);
  });
}

function finish(latencies: number[], statuses: Record<number, number>, seconds: number): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const ok = statuses[200] ?? 0;
  const sent = latencies.length;
  return { sent, ok, errors: sent - ok, statuses, seconds, latencies: sorted };
}

export async function closedLoop(port: number, requests: Iterator<LoadRequest>, connections: number, seconds: number): Promise<LoadResult> {
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
        const status = await post(agent, port, next.value);
        latencies.push(performance.now() - start);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return finish(latencies, statuses, (performance.now() - t0) / 1000);
}

export async function openLoop(port: number, requests: Iterator<LoadRequest>, perSecond: number, seconds: number, seed = 1): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let s = seed >>> 0;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
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
    pending.push(
      post(agent, port, next.value).then((status) => {
        latencies.push(performance.now() - at);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return finish(latencies, statuses, (performance.now() - t0) / 1000);
}
