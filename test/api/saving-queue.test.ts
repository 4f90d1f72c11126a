/**
 * The browser's saving queue (experiment/saving-queue.ts) against a real server, with a proxy in
 * between that can turn into a captive portal (200 with an HTML page) or a firewall (403 page):
 * only the API's own acknowledgement may remove a record from the queue.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrialRecord } from '../../experiment/contract.ts';
import { SavingQueue } from '../../experiment/saving-queue.ts';
import { postJson, startTestServer, type TestServer, pidOf, backdateSession } from '../support/test-server.ts';

/** localStorage's interface over a Map (Node has no localStorage). */
class MemoryStorage {
  readonly map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
  removeItem(k: string) {
    this.map.delete(k);
  }
}

type ProxyMode = 'pass' | 'portal' | 'firewall' | 'redirect';

let server: TestServer;
let proxy: http.Server;
let proxyUrl: string;
let mode: ProxyMode = 'pass';
/** Requests the proxy answered instead of the API (portal, firewall, redirect). */
let intercepted = 0;

beforeAll(async () => {
  server = await startTestServer();
  proxy = http.createServer(async (req, res) => {
    if (mode !== 'pass') intercepted++;
    if (mode === 'portal') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>Sign in to the Wi-Fi</html>');
    if (mode === 'firewall') return void res.writeHead(403, { 'Content-Type': 'text/html' }).end('<html>Forbidden</html>');
    if (mode === 'redirect') return void res.writeHead(302, { Location: 'http://127.0.0.1:1/login' }).end();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = await fetch(server.url + req.url, {
      method: req.method,
      headers: { 'Content-Type': req.headers['content-type'] ?? 'application/json' },
      body: Buffer.concat(chunks),
    });
    res
      .writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/json' })
      .end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  proxy?.close();
  await server?.dispose();
});

async function session(pid: string) {
  const view = (await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf(pid) })).body;
  await backdateSession(server, view.session);
  const plan = (await server.store.getSession(view.session))!.plan.trials;
  return { id: view.session as string, plan };
}

function queueFor(id: string, storage = new MemoryStorage()) {
  const q = new SavingQueue(`${proxyUrl}/api/sessions/${id}/trials`, `q:${id}`, {
    storage,
    fetch,
    sendBeacon: null,
    setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, 200)),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    random: () => 0.5,
  });
  return { q, storage };
}

const record = (index: number, response: string): TrialRecord => ({ trial_index: index, response, rt_ms: 700 });

describe('saving queue', () => {
  it('sends in order and forgets a record only once the server acknowledged it', async () => {
    mode = 'pass';
    const s = await session('queue-order');
    const { q, storage } = queueFor(s.id);
    for (let i = 0; i < 3; i++) q.enqueue(record(i, s.plan[i]!.category));
    expect(JSON.parse(storage.getItem(`q:${s.id}`)!)).toHaveLength(3);
    await q.drain();
    expect(await server.store.answeredIndices(s.id)).toEqual([0, 1, 2]);
    expect(storage.getItem(`q:${s.id}`)).toBeNull();
  });

  for (const m of ['portal', 'firewall', 'redirect'] as const) {
    it(`keeps retrying through a ${m} (an answer that is not the API's) and delivers afterwards`, async () => {
      mode = m;
      const s = await session(`queue-${m}`);
      const { q, storage } = queueFor(s.id);
      const before = intercepted;
      q.enqueue(record(0, s.plan[0]!.category));
      // Sent, refused by the proxy, and sent again: the queue is retrying, not done.
      await vi.waitFor(() => expect(intercepted - before).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      expect(q.pendingIndices()).toEqual([0]);
      expect(JSON.parse(storage.getItem(`q:${s.id}`)!)).toHaveLength(1);
      expect(await server.store.answeredIndices(s.id)).toEqual([]);
      mode = 'pass';
      await q.drain();
      expect(await server.store.answeredIndices(s.id)).toEqual([0]);
      expect(q.rejected).toEqual([]);
    });
  }

  it('drops a record the server already holds differently (409), and sets aside one it refuses for good', async () => {
    mode = 'pass';
    const s = await session('queue-refusals');
    await postJson(`${server.url}/api/sessions/${s.id}/trials`, record(0, s.plan[0]!.category));
    const { q, storage } = queueFor(s.id);
    q.enqueue({ ...record(0, s.plan[0]!.category), rt_ms: 999 });
    q.enqueue(record(1, 'giraffe'));
    await q.drain();
    expect(q.pendingIndices()).toEqual([]);
    expect(q.rejected.map((r) => r.record.trial_index)).toEqual([1]);
    const refused = JSON.parse(storage.getItem(`q:${s.id}:refused`)!) as { record: TrialRecord }[];
    expect(refused.map((r) => r.record.trial_index)).toEqual([1]);
    const rows = await server.store.trialsOfSession(s.id);
    expect(rows.map((r) => [r.trial_index, r.rt_ms])).toEqual([[0, 700]]);
  });

  it('a queue rebuilt from storage (a reload) sends what the last page left', async () => {
    mode = 'firewall';
    const s = await session('queue-reload');
    const first = queueFor(s.id);
    const before = intercepted;
    first.q.enqueue(record(0, s.plan[0]!.category));
    await vi.waitFor(() => expect(intercepted - before).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
    mode = 'pass';
    const second = queueFor(s.id, first.storage);
    expect(second.q.pendingIndices()).toEqual([0]);
    await second.q.drain();
    expect(await server.store.answeredIndices(s.id)).toEqual([0]);
  });
});
