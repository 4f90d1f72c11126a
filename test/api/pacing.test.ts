/**
 * Pacing checked by the server (server/pacing.ts): trial k is stored no earlier than the session's
 * start plus the minimum presentation times of trials 0…k, less the tolerance; earlier it is 425
 * `too_early` (the saving queue retries it) and counted; late trials, a whole offline queue in one
 * burst, are always taken; completion before the minimum total time is refused with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { earliestOffsets, PACING_TOLERANCE } from '../../server/pacing.ts';
import type { SessionPlan } from '../../server/session-plan.ts';
import { backdateSession, COMPLETION_CODE, pidOf, postJson, startTestServer, type TestServer } from '../support/test-server.ts';

const TIMING = { blank_ms: 500, fixation_ms: 200, stimulus_ms: 200, practice_stimulus_ms: 300, mask_ms: 200 };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ study: { timing: TIMING } });
});
afterAll(async () => {
  await server?.dispose();
});

let n = 0;
async function start(): Promise<{ view: SessionView; plan: SessionPlan; startedAt: number }> {
  const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pidOf(`pacing-${++n}`) });
  expect(r.status).toBe(200);
  const session = (await server.store.getSession(r.body.session))!;
  return { view: r.body, plan: session.plan, startedAt: session.started_at };
}
const post = (view: SessionView, index: number, response: string) =>
  postJson(`${server.url}/api/sessions/${view.session}/trials`, { trial_index: index, response, rt_ms: 500 });
const violations = async (session: string) =>
  (await server.store.listSessions('fixture-study')).find((s) => s.id === session)!.pacing_violations;

describe('the minimum time of a trial', () => {
  it('is fixation + image + mask, the first practice trials with their slower image; the bound sums them less 10 %', async () => {
    const { plan } = await start();
    const slow = plan.trials.filter((t) => t.stimulus_ms === TIMING.practice_stimulus_ms);
    expect(slow.length).toBeGreaterThan(0);
    for (const t of plan.trials) expect(t.min_ms).toBe(TIMING.fixation_ms + (t.stimulus_ms ?? TIMING.stimulus_ms) + TIMING.mask_ms);
    const offsets = earliestOffsets(plan);
    let sum = 0;
    for (const t of plan.trials) {
      sum += t.min_ms!;
      expect(offsets[t.index]).toBeCloseTo(sum * (1 - PACING_TOLERANCE), 6);
    }
  });
});

describe('a trial that comes too early', () => {
  it('is refused with 425 too_early, counted, and taken once its time has come', async () => {
    const { view, plan, startedAt } = await start();
    const early = await post(view, 0, plan.trials[0]!.category);
    expect(early.status).toBe(425);
    expect(early.body.code).toBe('too_early');
    expect(early.body.error).toMatch(/^trial 0 arrived earlier than the study's timing allows; it is accepted in \d+\.\d s$/);
    expect(early.body.retry_after_ms).toBeGreaterThan(0);
    expect(early.body.retry_after_ms).toBeLessThanOrEqual(earliestOffsets(plan)[0]!);
    expect(await server.store.answeredIndices(view.session)).toEqual([]);
    expect(await violations(view.session)).toBe(1);
    // A script that skips ahead is refused for the later trial too: its bound is later still.
    const ahead = await post(view, 3, plan.trials[3]!.category);
    expect(ahead.status).toBe(425);
    expect(ahead.body.retry_after_ms).toBeGreaterThan(early.body.retry_after_ms);
    expect(await violations(view.session)).toBe(2);
    // Once the session is as old as trial 0 needs, it is stored.
    const due = startedAt + earliestOffsets(plan)[0]!;
    while (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    expect(await post(view, 0, plan.trials[0]!.category)).toMatchObject({ status: 200, body: { stored: 'created' } });
  });
});

describe('late trials', () => {
  it('are always taken: a queue held back (offline) flushes every trial in one burst, and the session completes', async () => {
    const { view, plan } = await start();
    // The participant answered everything while offline; the connection comes back later.
    await backdateSession(server, view.session, 60_000);
    const gate = view.screening_last_index!;
    const first = await Promise.all(plan.trials.filter((t) => t.index <= gate).map((t) => post(view, t.index, t.category)));
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {})).body.passed).toBe(true);
    const rest = await Promise.all(plan.trials.filter((t) => t.index > gate).map((t) => post(view, t.index, t.category)));
    expect(rest.every((r) => r.status === 200)).toBe(true);
    const done = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
    expect(done.body.redirect_url).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    expect(await violations(view.session)).toBe(0);
  });
});

describe('completion', () => {
  it('before the minimum total time is refused with a clear reason (a clock set back after the trials, say)', async () => {
    const { view, plan } = await start();
    await backdateSession(server, view.session);
    for (const t of plan.trials) {
      expect((await post(view, t.index, t.category)).status).toBe(200);
      if (t.index === view.screening_last_index) await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
    }
    // The session's start moved to now: its trials are stored, but the study cannot have taken so little time.
    await backdateSession(server, view.session, -3_600_000);
    const early = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
    expect(early.status).toBe(425);
    expect(early.body).toMatchObject({ code: 'too_early' });
    expect(early.body.error).toContain('cannot be completed yet');
    expect(JSON.stringify(early.body)).not.toContain(COMPLETION_CODE);
    expect((await server.store.getSession(view.session))!.state).toBe('started');
    await backdateSession(server, view.session);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(200);
  });
});
