/**
 * For the admin tests: log in as the experimenter, and play participants through the real
 * participant API (start, every planned trial, the screening gate, completion).
 */
import type { SessionView, TrialEvidence } from '../../experiment/contract.ts';
import type { PlannedTrial } from '../../server/session-plan.ts';
import { backdateSession, postJson, type TestServer } from '../support/test-server.ts';

/** Logs in with the server's admin token; returns the Cookie header value. */
export async function logIn(server: TestServer): Promise<string> {
  const res = await fetch(`${server.url}/admin/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token: server.admin.token.token }),
  });
  if (res.status !== 200) throw new Error(`log-in failed: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const m = /metamer_admin=([^;]+)/.exec(setCookie);
  if (!m) throw new Error(`no admin cookie in ${setCookie}`);
  return `metamer_admin=${m[1]}`;
}

export async function adminGet(
  server: TestServer,
  cookie: string,
  path: string,
  accept = 'text/html',
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(server.url + path, { headers: { Cookie: cookie, Accept: accept }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function adminPost(
  server: TestServer,
  cookie: string,
  path: string,
  body: Record<string, string> | object = {},
  opts: { json?: boolean; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: {
      Cookie: cookie,
      ...(opts.json
        ? { 'Content-Type': 'application/json', Accept: 'application/json' }
        : { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' }),
      ...opts.headers,
    },
    body: opts.json ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString(),
    redirect: 'manual',
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function startParticipant(
  server: TestServer,
  pid: string,
  studyId = 'fixture-study',
): Promise<{ status: number; view: SessionView; body: any }> {
  const r = await postJson(`${server.url}/api/studies/${studyId}/sessions`, {
    prolific_pid: pid,
    prolific_study_id: 'st',
    prolific_session_id: `se-${pid}`,
  });
  // The admin tests answer at full speed; pacing has its own tests.
  if (r.status === 200) await backdateSession(server, r.body.session);
  return { status: r.status, view: r.body as SessionView, body: r.body };
}

/** Answers trials [from, to) as planned (`correct`) or wrongly; asks the gate after the screening. */
export type CorrectPolicy = (index: number, trial: PlannedTrial) => boolean;

export async function answerTrials(
  server: TestServer,
  view: SessionView,
  opts: { from?: number; to?: number; correct?: CorrectPolicy; evidence?: TrialEvidence } = {},
): Promise<void> {
  const plan = (await server.store.getSession(view.session))!.plan.trials;
  const gate = view.screening_last_index;
  const to = opts.to ?? plan.length;
  for (let i = opts.from ?? 0; i < to; i++) {
    const t = plan[i]!;
    const right = opts.correct ? opts.correct(i, t) : true;
    const response = right ? t.category : view.choices.find((c) => c !== t.category)!;
    const r = await postJson(`${server.url}/api/sessions/${view.session}/trials`, {
      trial_index: i,
      response,
      rt_ms: 700 + i,
      evidence: opts.evidence,
    });
    if (r.status !== 200) throw new Error(`trial ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    if (gate !== null && i === gate) {
      const g = await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
      if (g.status !== 200) throw new Error(`gate: ${g.status} ${JSON.stringify(g.body)}`);
      if (!g.body.passed) return;
    }
  }
}

export async function completeParticipant(
  server: TestServer,
  pid: string,
  studyId = 'fixture-study',
  correct?: CorrectPolicy,
): Promise<SessionView> {
  const { status, view, body } = await startParticipant(server, pid, studyId);
  if (status !== 200) throw new Error(`start ${pid}: ${status} ${JSON.stringify(body)}`);
  await answerTrials(server, view, { correct });
  const done = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
  if (done.status !== 200) throw new Error(`complete ${pid}: ${done.status} ${JSON.stringify(done.body)}`);
  return view;
}
