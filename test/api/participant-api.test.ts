import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView, TrialRecord } from '../../experiment/contract.ts';
import { changeStudyStatus } from '../../server/studies.ts';
import {
  backdateSession,
  COMPLETION_CODE,
  pidOf,
  SCREENOUT_CODE,
  postJson,
  startTestServer,
  type TestServer,
} from '../support/test-server.ts';

let server: TestServer;
let pidCounter = 0;
const newPid = () => `5f0c0ffee0000000000000${String(++pidCounter).padStart(2, '0')}`;

async function start(pid = newPid()): Promise<SessionView> {
  const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, {
    prolific_pid: pid,
    prolific_study_id: 'st',
    prolific_session_id: 'se',
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  // These tests answer at full speed; pacing has its own tests (pacing.test.ts).
  await backdateSession(server, r.body.session);
  return r.body as SessionView;
}

/** The server-side plan (answers included): what the test participant "knows". */
async function planOf(session: string) {
  return (await server.store.getSession(session))!.plan;
}

function record(index: number, response: string | null, extra: Partial<TrialRecord> = {}): TrialRecord {
  return { trial_index: index, response, rt_ms: 812.5, timings: { stimulus_onset: 1000, stimulus_offset: 1300 }, ...extra };
}

async function answer(view: SessionView, index: number, correct: boolean) {
  const planned = (await planOf(view.session)).trials[index]!;
  const response = correct ? planned.category : view.choices.find((c) => c !== planned.category)!;
  return postJson(`${server.url}/api/sessions/${view.session}/trials`, record(index, response));
}

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.dispose();
});

describe('session start', () => {
  it('gives a plan with keyed stimulus URLs, no answers at all, and no phase beyond practice/test', async () => {
    const view = await start();
    expect(view.state).toBe('started');
    expect(view.trials.length).toBeGreaterThan(0);
    expect(view.answered).toEqual([]);
    const plan = await planOf(view.session);
    expect(view.trials).toHaveLength(plan.trials.length);
    for (const t of view.trials) {
      expect(t.stimulus).toMatch(/^\/stimuli\/[0-9a-f]{64}\.png$/);
      expect(t.stimulus).not.toContain(plan.trials[t.index]!.file.slice(0, 64));
      expect(t).not.toHaveProperty('feedback');
      expect(t.phase).toBe(plan.trials[t.index]!.phase === 'practice' ? 'practice' : 'test');
    }
    const text = JSON.stringify(view.trials);
    for (const t of plan.trials) {
      expect(text).not.toContain(t.stimulus_id);
      expect(text).not.toContain(t.source_id);
    }
    expect(view.choices).toEqual(['bear', 'car', 'dog', 'knife']);
  });

  it('returns the same session and plan for the same PID (reload, second tab)', async () => {
    const pid = newPid();
    const a = await start(pid);
    const [b, c] = await Promise.all([start(pid), start(pid)]);
    expect(b.session).toBe(a.session);
    expect(c.session).toBe(a.session);
    expect(b.trials).toEqual(a.trials);
    const db = await server.openDb();
    expect(await db.get('SELECT count(*) AS n FROM sessions WHERE prolific_pid = ?', pid)).toEqual({ n: 1 });
    await db.close();
  });

  it('refuses a missing PID, an unknown study and malformed bodies with 4xx and a reason', async () => {
    const cases: [string, unknown, number][] = [
      ['/api/studies/fixture-study/sessions', {}, 400],
      ['/api/studies/fixture-study/sessions', { prolific_pid: '' }, 400],
      ['/api/studies/fixture-study/sessions', { prolific_pid: '<script>' }, 400],
      // Not Prolific's format (24 hex characters), which the study takes by default.
      ['/api/studies/fixture-study/sessions', { prolific_pid: 'P1' }, 400],
      ['/api/studies/fixture-study/sessions', { prolific_pid: '5f0c0ffee00000000000000g' }, 400],
      ['/api/studies/fixture-study/sessions', '{not json', 400],
      ['/api/studies/fixture-study/sessions', { prolific_pid: 'x'.repeat(20_000) }, 413],
      ['/api/studies/nope/sessions', { prolific_pid: newPid() }, 404],
    ];
    for (const [url, body, status] of cases) {
      const r = await postJson(server.url + url, body);
      expect(r.status, `${url} ${JSON.stringify(body).slice(0, 40)}`).toBe(status);
      expect(typeof r.body.error).toBe('string');
      expect(typeof r.body.code).toBe('string');
    }
  });
});

describe('trial saving', () => {
  it('is idempotent: the same record again is 200, different content for a stored trial is 409', async () => {
    const view = await start();
    const url = `${server.url}/api/sessions/${view.session}/trials`;
    const rec = record(0, 'bear');
    expect(await postJson(url, rec)).toMatchObject({ status: 200, body: { stored: 'created' } });
    // Same content with keys in another order: still the same record.
    const reordered = Object.fromEntries(Object.entries(rec).reverse());
    expect(await postJson(url, reordered)).toMatchObject({ status: 200, body: { stored: 'duplicate' } });
    // A beacon sends text/plain.
    expect(await postJson(url, JSON.stringify(rec), { headers: { 'Content-Type': 'text/plain;charset=UTF-8' } })).toMatchObject({
      status: 200,
      body: { stored: 'duplicate' },
    });
    const changed = await postJson(url, record(0, 'car'));
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe('conflict');
    const db = await server.openDb();
    expect(await db.all('SELECT response FROM trials WHERE session_id = ?', view.session)).toEqual([{ response: 'bear' }]);
    await db.close();
  });

  it('refuses bad records with 4xx and stores nothing', async () => {
    const view = await start();
    const url = `${server.url}/api/sessions/${view.session}/trials`;
    const bad: [unknown, number][] = [
      [{ ...record(0, 'bear'), trial_index: 9999 }, 400],
      [{ ...record(0, 'bear'), trial_index: -1 }, 400],
      [{ ...record(0, 'bear'), trial_index: '0' }, 400],
      [record(0, 'giraffe'), 400],
      [{ ...record(0, 'bear'), surprise: 1 }, 400],
      ['{"trial_index":0,"response":"bear","rt_ms":1,"extra":{"__proto__":1}}', 400],
      [{ trial_index: 0 }, 400],
      [[1, 2, 3], 400],
      ['null', 400],
    ];
    for (const [body, status] of bad) {
      const r = await postJson(url, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
    }
    expect((await postJson(`${server.url}/api/sessions/no-such-session/trials`, record(0, 'bear'))).status).toBe(404);
    // A body in another charset would be read as UTF-8 and stored garbled: refused.
    const latin1 = await postJson(url, JSON.stringify(record(0, 'bear')), {
      headers: { 'Content-Type': 'application/json; charset=ISO-8859-1' },
    });
    expect(latin1).toMatchObject({ status: 415, body: { code: 'unsupported_charset' } });
    expect(
      (await postJson(url, JSON.stringify(record(0, 'bear')), { headers: { 'Content-Type': 'application/json; charset="utf-8"' } })).status,
    ).toBe(200);
    expect(await server.store.answeredIndices(view.session)).toEqual([0]);
  });

  it('computes correctness on the server from the plan', async () => {
    const view = await start();
    await answer(view, 0, true);
    await answer(view, 1, false);
    const rows = await server.store.trialsOfSession(view.session);
    expect(rows.map((r) => r.correct)).toEqual([1, 0]);
    const plan = await planOf(view.session);
    expect(rows[0]!.category).toBe(plan.trials[0]!.category);
    expect(rows[0]!.stimulus_id).toBe(plan.trials[0]!.stimulus_id);
  });
});

describe('screening gate and completion', () => {
  it('completes a session only when every planned trial is stored, then gives the completion code', async () => {
    const view = await start();
    const gate = view.screening_last_index!;
    for (let i = 0; i <= gate; i++) expect((await answer(view, i, true)).status).toBe(200);
    // A main trial before the gate was asked is "too early": the queue retries it.
    expect((await answer(view, gate + 1, true)).status).toBe(425);
    expect(await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {})).toMatchObject({
      status: 200,
      body: { passed: true },
    });
    const early = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
    expect(early.status).toBe(409);
    expect(early.body.missing[0]).toBe(gate + 1);
    for (let i = gate + 1; i < view.trials.length; i++) expect((await answer(view, i, i % 2 === 0)).status).toBe(200);
    const done = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
    expect(done.status).toBe(200);
    expect(done.body.redirect_url).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    // Completing again is idempotent.
    expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).body).toEqual(done.body);
    const db = await server.openDb();
    const rows = await db.all<{ trial_index: number }>(
      'SELECT trial_index FROM trials WHERE session_id = ? ORDER BY trial_index',
      view.session,
    );
    expect(rows.map((r) => r.trial_index)).toEqual(view.trials.map((t) => t.index));
    expect(await db.get('SELECT state FROM sessions WHERE id = ?', view.session)).toEqual({ state: 'completed' });
    await db.close();
  });

  it('screens out a participant below the threshold, with the screen-out code, and takes no more trials', async () => {
    const view = await start();
    const gate = view.screening_last_index!;
    const screeningStart = (await planOf(view.session)).trials.findIndex((t) => t.phase === 'screening');
    for (let i = 0; i <= gate; i++) await answer(view, i, i < screeningStart);
    const r = await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
    expect(r.body).toEqual({ passed: false, redirect_url: `https://app.prolific.com/submissions/complete?cc=${SCREENOUT_CODE}` });
    expect((await answer(view, gate + 1, true)).status).toBe(410);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(410);
    expect((await server.store.getSession(view.session))!.state).toBe('screened_out');
  });

  it('asks for the missing screening trials before deciding', async () => {
    const view = await start();
    const r = await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
    expect(r.status).toBe(409);
    expect(r.body.missing.length).toBe((await planOf(view.session)).trials.filter((t) => t.phase === 'screening').length);
  });
});

describe('participant page', () => {
  it('serves the page for a live study, and plain pages (no stack traces) otherwise', async () => {
    const ok = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${newPid()}&STUDY_ID=a&SESSION_ID=b`);
    expect(ok.status).toBe(200);
    const html = await ok.text();
    expect(html).toMatch(/<script src="\/assets\/experiment\.[0-9a-f]{16}\.js" defer><\/script>/);
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");

    const noPid = await fetch(`${server.url}/run/fixture-study`);
    expect(noPid.status).toBe(400);
    expect(await noPid.text()).toContain('Prolific ID is missing');
    const missing = await fetch(`${server.url}/run/nope?PROLIFIC_PID=x`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Study not found');

    const js = await fetch(server.url + html.match(/src="([^"]+)"/)![1]);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
  });

  it('tells a participant of a paused study so, but lets one already in a session continue', async () => {
    const inside = newPid();
    await start(inside);
    await changeStudyStatus(server.store, 'fixture-study', 'pause');
    try {
      const r = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${newPid()}`);
      expect(r.status).toBe(403);
      expect(await r.text()).toContain('not open');
      const api = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: newPid() });
      expect(api.status).toBe(403);
      expect(api.body.code).toBe('not_live');
      expect((await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${inside}&SESSION_ID=se`)).status).toBe(200);
      expect(
        (await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: inside, prolific_session_id: 'se' })).status,
      ).toBe(200);
    } finally {
      await changeStudyStatus(server.store, 'fixture-study', 'launch');
    }
  });
});

describe('stimulus files', () => {
  it('serves by keyed name with ETag, immutable caching and ranges', async () => {
    const view = await start();
    const url = server.url + view.trials[0]!.stimulus;
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('cache-control')).toContain('immutable');
    const body = Buffer.from(await r.arrayBuffer());
    expect(body.subarray(1, 4).toString()).toBe('PNG');
    const etag = r.headers.get('etag')!;
    expect(etag).toBe(`"${view.trials[0]!.stimulus.slice(9, 73)}"`);
    expect((await fetch(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const part = await fetch(url, { headers: { Range: 'bytes=0-7' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-7/${body.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(0, 8));
    expect((await fetch(url, { headers: { Range: `bytes=${body.length + 5}-` } })).status).toBe(416);
  });

  it('reaches nothing outside the store, and refuses a planted symlink', async () => {
    for (const p of [
      '/stimuli/../../etc/passwd',
      '/stimuli/..%2f..%2fetc%2fpasswd',
      '/stimuli/%2e%2e/%2e%2e/etc/passwd',
      '/stimuli/abc.png',
      `/stimuli/${'0'.repeat(64)}.png`,
    ]) {
      const r = await fetch(server.url + p);
      expect(r.status, p).toBe(404);
    }
    const fakeSha = 'f'.repeat(64);
    const link = path.join(server.blobDir, 'ff', `${fakeSha}.png`);
    await fs.mkdir(path.dirname(link), { recursive: true });
    await fs.symlink('/etc/passwd', link);
    expect((await fetch(`${server.url}/stimuli/${server.stimulusKeys.publicName(`${fakeSha}.png`)}`)).status).toBe(404);
  });
});

describe('a full study', () => {
  it('shows a plain "full" page to a newcomer once the target has completed, and lets those inside finish', async () => {
    const small = await startTestServer({ study: { target_completed: 1 } });
    try {
      const inside = await postJson(`${small.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf('first-one') });
      const finisher = await postJson(`${small.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf('second-one') });
      await backdateSession(small, finisher.body.session);
      const plan = (await small.store.getSession(finisher.body.session))!.plan;
      const gate = plan.screeningLastIndex!;
      for (const t of plan.trials) {
        const r = await postJson(`${small.url}/api/sessions/${finisher.body.session}/trials`, {
          trial_index: t.index,
          response: t.category,
          rt_ms: 500,
        });
        expect(r.status).toBe(200);
        if (t.index === gate) await postJson(`${small.url}/api/sessions/${finisher.body.session}/gates/screening`, {});
      }
      expect((await postJson(`${small.url}/api/sessions/${finisher.body.session}/complete`, {})).status).toBe(200);
      const newcomer = await fetch(`${small.url}/run/fixture-study?PROLIFIC_PID=${pidOf('third-one')}`);
      expect(newcomer.status).toBe(403);
      expect(await newcomer.text()).toContain('This study is full');
      expect((await fetch(`${small.url}/run/fixture-study?PROLIFIC_PID=${pidOf('first-one')}`)).status).toBe(200);
      expect(inside.status).toBe(200);
    } finally {
      await small.dispose();
    }
  });
});
