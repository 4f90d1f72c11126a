/**
 * A session belongs to one submission (server/session-ownership.ts): the same Prolific SESSION_ID
 * or the browser's resume key resumes it; a Prolific ID alone gets neither a token, nor trials,
 * nor the session's state, whatever that state is. Prolific ID format, and the study option for
 * other recruiters. Previews still resume from their URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { createStudy, changeStudyStatus } from '../../server/studies.ts';
import { backdateSession, COMPLETION_CODE, pidOf, postJson, startTestServer, type TestServer } from '../support/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.dispose();
});

const start = (body: object, study = 'fixture-study') => postJson(`${server.url}/api/studies/${study}/sessions`, body);
const page = async (query: string) => {
  const r = await fetch(`${server.url}/run/fixture-study?${query}`);
  return { status: r.status, text: await r.text() };
};

/** Starts a session with a SESSION_ID and answers everything, with the gate: a completed session. */
async function completed(pid: string): Promise<SessionView> {
  const view = (await start({ prolific_pid: pid, prolific_session_id: `own-${pid}` })).body as SessionView;
  await backdateSession(server, view.session);
  for (const t of (await server.store.getSession(view.session))!.plan.trials) {
    expect(
      (await postJson(`${server.url}/api/sessions/${view.session}/trials`, { trial_index: t.index, response: t.category, rt_ms: 500 }))
        .status,
    ).toBe(200);
    if (t.index === view.screening_last_index) await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
  }
  expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(200);
  return view;
}

describe('resuming', () => {
  it('the same SESSION_ID or the resume key resumes; the Prolific ID alone or another SESSION_ID gets nothing', async () => {
    const pid = pidOf('owner-1');
    const first = await start({ prolific_pid: pid, prolific_study_id: 'st', prolific_session_id: 'sub-A' });
    expect(first.status).toBe(200);
    const view = first.body as SessionView;
    expect(view.resume_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await start({ prolific_pid: pid, prolific_session_id: 'sub-A' })).body.session).toBe(view.session);
    // The browser that started it, whatever its link says.
    expect((await start({ prolific_pid: pid, resume_key: view.resume_key })).body.session).toBe(view.session);
    expect((await start({ prolific_pid: pid, prolific_session_id: 'sub-B', resume_key: view.resume_key })).body.session).toBe(view.session);

    const refusals = [
      await start({ prolific_pid: pid }),
      await start({ prolific_pid: pid, prolific_study_id: 'st', prolific_session_id: 'sub-B' }),
      await start({ prolific_pid: pid, resume_key: 'x'.repeat(32) }),
      // Another session's key is not this one's.
      await start({ prolific_pid: pid, resume_key: (await start({ prolific_pid: pidOf('owner-2') })).body.resume_key }),
    ];
    for (const r of refusals) {
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('other_submission');
      expect(Object.keys(r.body).sort()).toEqual(['code', 'error']);
      expect(JSON.stringify(r.body)).not.toContain(view.session);
    }
    expect(refusals[0]!.body.error).toContain('another submission');
    // No second session was made for the ID: the first stands, untouched.
    const participant = (await server.store.getSession(view.session))!.participant_id;
    expect((await server.store.listSessions('fixture-study')).filter((s) => s.participant_id === participant)).toHaveLength(1);
  });

  it('the answer to a Prolific ID alone is the same whatever the session state, and the page shows no code', async () => {
    const done = pidOf('owner-done');
    await completed(done);
    const started = pidOf('owner-started');
    await start({ prolific_pid: started, prolific_session_id: `own-${started}` });
    const a = await start({ prolific_pid: done, prolific_session_id: 'someone-else' });
    const b = await start({ prolific_pid: started, prolific_session_id: 'someone-else' });
    expect(a).toEqual(b);
    // The page: another SESSION_ID is told so, with no completion code; the owner's link gets its page.
    const other = await page(`PROLIFIC_PID=${done}&STUDY_ID=st&SESSION_ID=someone-else`);
    expect(other.status).toBe(409);
    expect(other.text).toContain('already been used to start this study in another submission');
    expect(other.text).not.toContain(COMPLETION_CODE);
    expect(other.text).not.toContain('completed');
    expect((await page(`PROLIFIC_PID=${started}&STUDY_ID=st&SESSION_ID=someone-else`)).text).toBe(other.text);
    // Without any SESSION_ID the page cannot tell: it is the ordinary page, and the API decides.
    const bare = await page(`PROLIFIC_PID=${done}`);
    expect(bare.status).toBe(200);
    expect(bare.text).not.toContain(COMPLETION_CODE);
    const own = await page(`PROLIFIC_PID=${done}&STUDY_ID=st&SESSION_ID=own-${done}`);
    expect(own.text).toContain('You have already completed this study');
    expect(own.text).toContain(`cc=${COMPLETION_CODE}`);
  });
});

describe('Prolific ID format', () => {
  it('takes 24 hex characters by default and says clearly what is wrong otherwise', async () => {
    for (const bad of [
      'P1',
      'abc',
      '5f0c0ffee00000000000000',
      '5f0c0ffee0000000000000000',
      '5f0c0ffee00000000000000z',
      'preview-notmade',
    ]) {
      const r = await start({ prolific_pid: bad });
      expect(r.status, bad).toBe(bad.startsWith('preview-') ? 404 : 400);
      if (!bad.startsWith('preview-')) {
        expect(r.body.code).toBe('invalid_pid');
        expect(r.body.error).toContain('24 characters');
        const p = await page(`PROLIFIC_PID=${bad}`);
        expect(p.status).toBe(400);
        expect(p.text).toContain('24 characters long');
      }
    }
    expect((await start({ prolific_pid: '5F0C0FFEE0000000000000AB' })).status).toBe(200);
  });

  it('a study for another recruiter takes its IDs with the `token` format', async () => {
    // The fixture study's config, as another recruiter's study: only the ID format differs.
    const fixture = (await server.store.getStudy('fixture-study'))!.config;
    await createStudy(server.store, { ...fixture, id: 'other-recruiter', prolific: { ...fixture.prolific, id_format: 'token' } });
    await changeStudyStatus(server.store, 'other-recruiter', 'launch');
    expect((await start({ prolific_pid: 'A1B2C3D4E5F6G7' }, 'other-recruiter')).status).toBe(200);
    expect((await start({ prolific_pid: '<b>' }, 'other-recruiter')).status).toBe(400);
    // A made-up preview ID never creates a session, in any format.
    expect((await start({ prolific_pid: 'preview-abc' }, 'other-recruiter')).status).toBe(404);
  });
});

describe('previews', () => {
  it('resume from their URL alone, as before', async () => {
    const { session, prolificPid } = await server.sessions.startPreview('fixture-study');
    const a = await start({ prolific_pid: prolificPid, prolific_study_id: 'preview', prolific_session_id: 'preview' });
    expect(a.status).toBe(200);
    expect(a.body.session).toBe(session.id);
    expect((await start({ prolific_pid: prolificPid })).body.session).toBe(session.id);
    expect((await page(`PROLIFIC_PID=${encodeURIComponent(prolificPid)}&STUDY_ID=preview&SESSION_ID=preview`)).text).toContain(
      '<title>Preview ·',
    );
  });
});
