/**
 * A session id is a bearer token: whoever holds it can post that session's trials. A request that
 * fails inside the server is logged with its path, and participant API paths carry the token.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { postJson, startTestServer, type TestServer } from '../support/test-server.ts';

let server: TestServer;
const lines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  server = await startTestServer({ logger: pino({ level: 'debug' }, sink) });
});
afterAll(async () => {
  await server?.dispose();
});

it('logs a failed request (500) with the session token redacted from its path', async () => {
  const pid = '5f0c0ffee00000000000aa01'; // (Prolific's format: 24 hex characters)
  const start = await postJson(`${server.url}/api/studies/fixture-study/sessions`, {
    prolific_pid: pid,
    prolific_study_id: 'st',
    prolific_session_id: 'se',
  });
  expect(start.status).toBe(200);
  const view = start.body as SessionView;
  // A fault inside the store, as a broken disk or database would give: the route cannot recover.
  const store = server.sessions['store' as keyof typeof server.sessions] as unknown as { answeredIndices: () => Promise<number[]> };
  const real = store.answeredIndices;
  store.answeredIndices = () => Promise.reject(new Error('disk I/O error'));
  try {
    const r = await postJson(`${server.url}/api/sessions/${view.session}/complete?PROLIFIC_PID=${pid}`, {});
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('disk I/O');
  } finally {
    store.answeredIndices = real;
  }
  const failed = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'request failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]!.path).toBe('/api/sessions/:session/complete');
  const log = lines.join('');
  expect(log).toContain('disk I/O error');
  expect(log).not.toContain(view.session);
  expect(log).not.toContain(pid);
});
