/**
 * A seeded fuzzer against every participant route of a real server: malformed, oversized and
 * wrongly typed bodies, odd headers and hostile URLs. Every answer must be 4xx (or 2xx for the few
 * generated requests that happen to be valid), never 5xx; the server must stay up; and the database
 * must hold only writes a valid request could make.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrialRecord } from '../../experiment/contract.ts';
import { mulberry32 } from '../../stimuli/random.ts';
import { startTestServer, testStore, type TestServer, pidOf, backdateSession } from '../support/test-server.ts';

const N = 12_000;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Certainly invalid: must get a 4xx. */
  malformed: boolean;
}

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

function weirdString(rng: Rng): string {
  return pick(rng, [
    '',
    ' ',
    '\u0000',
    '../../etc/passwd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    '\ud800',
    '😀'.repeat(50),
    'a'.repeat(5000),
    '__proto__',
    'constructor',
    'NaN',
    '-1',
    '1e308',
    '{}',
    'null',
  ]);
}

function weirdValue(rng: Rng, depth = 0): unknown {
  const r = rng();
  if (r < 0.15) return weirdString(rng);
  if (r < 0.3) return pick(rng, [0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31]);
  if (r < 0.4) return pick(rng, [true, false, null]);
  if (r < 0.55 && depth < 4) return Array.from({ length: Math.floor(rng() * 4) }, () => weirdValue(rng, depth + 1));
  if (r < 0.75 && depth < 4)
    return Object.fromEntries(
      Array.from({ length: Math.floor(rng() * 4) }, () => [weirdString(rng).slice(0, 20), weirdValue(rng, depth + 1)]),
    );
  return weirdString(rng);
}

/** Percent-encodes; a lone surrogate becomes the (invalid UTF-8) bytes it would have been. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function deepNesting(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

/** A trial body that breaks exactly one rule of the contract. */
function brokenTrial(rng: Rng, nTrials: number): unknown {
  const base: Record<string, unknown> = { trial_index: Math.floor(rng() * nTrials), response: 'bear', rt_ms: 500 };
  switch (Math.floor(rng() * 9)) {
    case 0:
      base.trial_index = pick(rng, [-1, nTrials + 5, 1.5, '3', null, 1e9]);
      break;
    case 1:
      base.response = pick(rng, [42, { a: 1 }, ['bear'], 'giraffe', 'x'.repeat(500)]);
      break;
    case 2:
      base.rt_ms = pick(rng, [-5, '500', { ms: 1 }, 1e12]);
      break;
    case 3:
      // Defined, not assigned: `base['__proto__'] = v` would set the prototype, and the body would
      // go out as a valid record without the key.
      Object.defineProperty(base, weirdString(rng).slice(0, 30) || 'unexpected', {
        value: weirdValue(rng),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      break;
    case 4:
      delete base.trial_index;
      break;
    case 5:
      base.timings = pick(rng, ['fast', [1, 2], { stimulus_onset: 'x' }]);
      break;
    case 6:
      base.extra = pick(rng, [
        { k: { nested: true } },
        'x',
        Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`k${i}`, 'v'.repeat(600)])),
      ]);
      break;
    case 7:
      return weirdValue(rng);
    default:
      delete base.response;
  }
  return base;
}

/** What follows /api/sessions/<session>/ in the participant API. */
const SESSION_ROUTES = ['trials', 'complete', 'screening', 'page-report'];

function generate(rng: Rng, session: string, nTrials: number): FuzzRequest {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'undefined');
  const jsonHeaders = { 'content-type': pick(rng, ['application/json', 'text/plain;charset=UTF-8', 'application/json; charset=utf-8']) };
  switch (Math.floor(rng() * 12)) {
    case 0: // session start with bad bodies
      return {
        method: 'POST',
        path: `/api/studies/fixture-study/sessions`,
        headers: jsonHeaders,
        body: json(
          pick(rng, [
            {},
            {
              prolific_pid: pick(rng, [
                42,
                null,
                [],
                {},
                true,
                '',
                ' ',
                '<script>',
                'a/b',
                '../../etc/passwd',
                '-1',
                '__proto__',
                '\u0000',
                'x'.repeat(200),
                'a b',
              ]),
            },
            { prolific_pid: 'ok', prolific_study_id: 5 },
            { prolific_pid: 'ok', prolific_session_id: '<b>' },
            pick(rng, [null, [], 'pid', 17]),
          ]),
        ),
        malformed: true,
      };
    case 1: // trial saves that break the contract
      return {
        method: 'POST',
        path: `/api/sessions/${session}/trials`,
        headers: jsonHeaders,
        body: json(brokenTrial(rng, nTrials)),
        malformed: true,
      };
    case 2: // bytes that are not JSON
      return {
        method: 'POST',
        path: pick(rng, [
          `/api/sessions/${session}/trials`,
          `/api/studies/fixture-study/sessions`,
          `/api/sessions/${session}/complete`,
          `/api/sessions/${session}/page-report`,
        ]),
        headers: { 'content-type': 'application/json' },
        body: pick(rng, [
          Buffer.from('{"trial_index": 1,'),
          Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
          Buffer.from(deepNesting(5000)),
          Buffer.from('{"a":'.repeat(2000)),
        ]),
        malformed: true,
      };
    case 3: // oversized
      return {
        method: 'POST',
        path: pick(rng, [`/api/sessions/${session}/trials`, `/api/studies/fixture-study/sessions`]),
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(
          JSON.stringify({ trial_index: 0, response: 'bear', rt_ms: 1, pad: 'x'.repeat(20_000 + Math.floor(rng() * 100_000)) }),
        ),
        malformed: true,
      };
    case 4: // wrong content types
      return {
        method: 'POST',
        path: `/api/sessions/${session}/trials`,
        headers: {
          'content-type': pick(rng, [
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'image/png',
          ]),
        },
        body: Buffer.from('trial_index=0&response=bear'),
        malformed: true,
      };
    case 5: // unknown or hostile session ids
      return {
        method: 'POST',
        path: `/api/sessions/${enc(weirdString(rng).slice(0, 200)) || 'x'}/${pick(rng, SESSION_ROUTES)}`,
        headers: { 'content-type': 'application/json' },
        body: json({ trial_index: 0, response: 'bear', rt_ms: 1 }),
        malformed: true,
      };
    case 6: // stimulus paths
      return {
        method: pick(rng, ['GET', 'HEAD', 'POST', 'DELETE']),
        path: pick(rng, [
          '/stimuli/../../../../etc/passwd',
          '/stimuli/..%2f..%2f..%2fetc%2fpasswd',
          '/stimuli/%2e%2e%2f%2e%2e%2fserver%2fapp.ts',
          '/stimuli/%00.png',
          `/stimuli/${'a'.repeat(64)}.png`,
          `/stimuli/${'g'.repeat(64)}.png`,
          '/stimuli/',
          `/stimuli/${'0'.repeat(64)}.exe`,
          '/stimuli//etc/passwd',
          '/stimuli/..\\..\\etc\\passwd',
        ]),
        headers: rng() < 0.3 ? { range: pick(rng, ['bytes=0-', 'bytes=-0', 'bytes=5-1', 'bytes=abc', 'bytes=0-1,5-9']) } : {},
        malformed: true,
      };
    case 7: // the page with odd queries
      return {
        method: 'GET',
        path: pick(rng, [
          `/run/fixture-study?PROLIFIC_PID=${enc(pick(rng, ['<script>', ' ', '"onmouseover="x']))}`,
          '/run/fixture-study',
          `/run/${enc(weirdString(rng).slice(0, 100))}?PROLIFIC_PID=x`,
          '/run/fixture-study?PROLIFIC_PID=a&PROLIFIC_PID=b',
          '/run/fixture-study?PROLIFIC_PID[x]=1',
        ]),
        headers: {},
        malformed: true,
      };
    case 8: // wrong methods on API routes
      return {
        method: pick(rng, ['GET', 'PUT', 'DELETE', 'PATCH']),
        path: pick(rng, [
          `/api/sessions/${session}/trials`,
          `/api/studies/fixture-study/sessions`,
          `/api/sessions/${session}/complete`,
          `/api/sessions/${session}/page-report`,
          '/api/nothing',
        ]),
        headers: {},
        malformed: true,
      };
    case 9: // assets
      return { method: 'GET', path: `/assets/${enc(weirdString(rng).slice(0, 100)) || 'x'}`, headers: {}, malformed: true };
    case 10: // headers that lie
      return {
        method: 'POST',
        path: `/api/sessions/${session}/trials`,
        headers: { 'content-type': 'application/json', 'content-encoding': pick(rng, ['gzip', 'br', 'x-unknown']) },
        body: Buffer.from('{"trial_index":0}'),
        malformed: true,
      };
    default: // gate and completion early (valid requests, refused for the session's state)
      return {
        method: 'POST',
        path: `/api/sessions/${session}/${pick(rng, [
          'screening',
          'complete',
          'page-report',
          'gates/screening',
          'gates/headphone',
          `gates/${enc(weirdString(rng).slice(0, 40)) || 'x'}`,
        ])}`,
        headers: { 'content-type': 'application/json' },
        body: json(pick(rng, [{}, weirdValue(rng)])),
        malformed: true,
      };
  }
}

function send(agent: http.Agent, port: number, r: FuzzRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: r.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

let server: TestServer;
beforeAll(async () => {
  // The fuzzer starts thousands of sessions from one address: it tests validation, not the limit.
  process.env.METAMER_SESSION_STARTS_PER_MINUTE = '1000000';
  server = await startTestServer();
  delete process.env.METAMER_SESSION_STARTS_PER_MINUTE;
});
afterAll(async () => {
  await server?.dispose();
});

describe('fuzzing the participant routes', () => {
  it(`answers ${N} malformed requests with 4xx, never 5xx, stays up, and stores only valid writes`, async () => {
    const start = await fetch(`${server.url}/api/studies/fixture-study/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prolific_pid: pidOf('fuzzer-own-session') }),
    });
    const { session, trials } = (await start.json()) as { session: string; trials: unknown[] };
    // Valid trials among the fuzz are stored rather than refused as too early (pacing has its own tests).
    await backdateSession(server, session);
    const rng = mulberry32(20261128);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const fiveHundreds: FuzzRequest[] = [];
    const wrong2xx: FuzzRequest[] = [];
    const requests = Array.from({ length: N }, () => generate(rng, session, trials.length));
    // Keys that name Object.prototype's members, as JSON text, whatever the seed draws: each must be
    // refused, not dropped on the way into a plain object and the rest stored as valid.
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString']) {
      for (const value of ['{"trial_index":1}', '1', 'null', '"x"']) {
        requests.push({
          method: 'POST',
          path: `/api/sessions/${session}/trials`,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from(`{"trial_index":0,"response":"bear","rt_ms":500,${JSON.stringify(key)}:${value}}`),
          malformed: true,
        });
      }
    }
    for (let i = 0; i < requests.length; i += 8) {
      const batch = requests.slice(i, i + 8);
      const codes = await Promise.all(batch.map((r) => send(agent, server.port, r)));
      codes.forEach((code, j) => {
        statuses.set(code, (statuses.get(code) ?? 0) + 1);
        if (code >= 500) fiveHundreds.push(batch[j]!);
        else if (batch[j]!.malformed && (code < 400 || code >= 500)) wrong2xx.push(batch[j]!);
      });
    }
    agent.destroy();
    expect(fiveHundreds.map((r) => `${r.method} ${r.path.slice(0, 80)} ${r.body?.subarray(0, 80).toString()}`)).toEqual([]);
    expect(wrong2xx.map((r) => `${r.method} ${r.path.slice(0, 80)} ${r.body?.subarray(0, 80).toString()}`)).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(requests.length);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const db = await server.openDb();
    // SQLite checks its own file; PostgreSQL's constraints were checked at every write.
    if (testStore() === 'sqlite') expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
    // Only the fuzzer's own valid session exists; no malformed start got through.
    expect(await db.all('SELECT prolific_pid FROM sessions')).toEqual([{ prolific_pid: pidOf('fuzzer-own-session') }]);
    // No malformed page report was kept either.
    expect(await db.all('SELECT count(*) AS n FROM page_reports')).toEqual([{ n: 0 }]);
    // Any stored trial is a record that passes the contract, for an index of the plan.
    const rows = await db.all<{ trial_index: number; data: string; response: string }>('SELECT trial_index, data, response FROM trials');
    for (const row of rows) {
      expect(TrialRecord.safeParse(JSON.parse(row.data)).success).toBe(true);
      expect(row.trial_index).toBeLessThan(trials.length);
      expect(['bear', 'car', 'dog', 'knife']).toContain(row.response);
    }
    await db.close();
  }, 300_000);
});
