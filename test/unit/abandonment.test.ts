import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { abandonAfterMinutes, DEFAULT_ABANDON_AFTER_MINUTES, sweepAbandoned, sweepStudy } from '../../server/abandonment.ts';
import { changeStudyStatus, createStudy } from '../../server/studies.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { answerTrials, startParticipant } from '../api/admin-participants.ts';

const MIN = 60_000;

function slotsAndStates(server: TestServer, studyId = 'fixture-study') {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return db
      .prepare('SELECT prolific_pid AS pid, slot, state FROM sessions WHERE study_id = ? AND preview = 0 ORDER BY started_at, id')
      .all(studyId) as {
      pid: string;
      slot: number;
      state: string;
    }[];
  } finally {
    db.close();
  }
}

/** Moves a session's last activity into the past, as if its participant had gone quiet then. */
function idleFor(server: TestServer, pid: string, ms: number) {
  const db = new Database(server.dbFile);
  try {
    db.prepare('UPDATE sessions SET last_activity_at = last_activity_at - ? WHERE prolific_pid = ?').run(ms, pid);
  } finally {
    db.close();
  }
}

describe('abandonment with more participants than places', () => {
  let server: TestServer;
  const savedInterval = process.env.METAMER_ABANDON_SWEEP_MS;
  beforeAll(async () => {
    // Sweeps happen when this test asks, not when the server's timer fires.
    process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 60 * MIN);
    // Target 2, 4 conditions (natural + 3 layers): the Latin square has 4 slots.
    // Readable made-up IDs: the study takes any token as an ID (the option for other recruiters).
    server = await startTestServer({
      study: {
        target_completed: 2,
        abandon_after_minutes: 30,
        prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE, id_format: 'token' },
      },
    });
  });
  afterAll(async () => {
    await server?.dispose();
    if (savedInterval === undefined) delete process.env.METAMER_ABANDON_SWEEP_MS;
    else process.env.METAMER_ABANDON_SWEEP_MS = savedInterval;
  });

  it('idle sessions give their slots back, late trials are still stored, and the target cap holds for new people only', async () => {
    const study = (await server.store.getStudy('fixture-study'))!;
    expect(abandonAfterMinutes(study)).toBe(30);
    const views = new Map<string, Awaited<ReturnType<typeof startParticipant>>['view']>();
    for (const pid of ['quiet-1', 'quiet-2', 'busy-3']) {
      const r = await startParticipant(server, pid);
      expect(r.status).toBe(200);
      views.set(pid, r.view);
    }
    expect(slotsAndStates(server).map((s) => [s.pid, s.slot])).toEqual([
      ['quiet-1', 0],
      ['quiet-2', 1],
      ['busy-3', 2],
    ]);
    await answerTrials(server, views.get('busy-3')!, { to: 2 });

    // 29 minutes of silence is not yet abandonment; 31 is.
    idleFor(server, 'quiet-1', 29 * MIN);
    expect(await sweepStudy(server.store, study)).toBe(0);
    idleFor(server, 'quiet-1', 2 * MIN);
    idleFor(server, 'quiet-2', 45 * MIN);
    expect(await sweepAbandoned(server.store)).toEqual([{ study_id: 'fixture-study', abandoned: 2 }]);
    expect(await server.store.countSessions('fixture-study')).toEqual({ started: 1, completed: 0, screened_out: 0, abandoned: 2 });
    // A second sweep finds nothing new.
    expect(await sweepAbandoned(server.store)).toEqual([]);

    // Newcomers fill the freed slots first, lowest first, then the next free one.
    for (const pid of ['new-4', 'new-5', 'new-6']) {
      const r = await startParticipant(server, pid);
      expect(r.status).toBe(200);
      views.set(pid, r.view);
    }
    const slots = Object.fromEntries(slotsAndStates(server).map((s) => [s.pid, s.slot]));
    expect([slots['new-4'], slots['new-5'], slots['new-6']]).toEqual([0, 1, 3]);

    // A late trial from an abandoned session is stored and revives it (data is never refused).
    const late = await postJson(`${server.url}/api/sessions/${views.get('quiet-1')!.session}/trials`, {
      trial_index: 0,
      response: 'bear',
      rt_ms: 900,
    });
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ stored: 'created' });
    expect((await server.store.getSession(views.get('quiet-1')!.session))!.state).toBe('started');
    expect(await server.store.answeredIndices(views.get('quiet-1')!.session)).toEqual([0]);

    // Two complete: the target is reached; a seventh person is turned away…
    for (const pid of ['new-4', 'new-5']) {
      await answerTrials(server, views.get(pid)!);
      expect((await postJson(`${server.url}/api/sessions/${views.get(pid)!.session}/complete`, {})).status).toBe(200);
    }
    const seventh = await startParticipant(server, 'late-7');
    expect(seventh.status).toBe(403);
    expect(seventh.body.code).toBe('full');
    // …but everyone already in a session may finish, the revived one included.
    await answerTrials(server, views.get('quiet-1')!, { from: 1 });
    expect((await postJson(`${server.url}/api/sessions/${views.get('quiet-1')!.session}/complete`, {})).status).toBe(200);
    const again = await startParticipant(server, 'busy-3');
    expect(again.status).toBe(200);
    expect(again.view.session).toBe(views.get('busy-3')!.session);
    expect(await server.store.countSessions('fixture-study')).toEqual({ started: 2, completed: 3, screened_out: 0, abandoned: 1 });
  });

  it('each study uses its own limit, and configs stored before the field existed get the default', async () => {
    await createStudy(server.store, {
      id: 'patient-study',
      stimulus_set: 'fixture',
      modality: 'image',
      prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE, id_format: 'token' },
      target_completed: 5,
      abandon_after_minutes: 120,
      protocol: { practice_trials: 1, screening_trials: 0, catch_trials: 0 },
    });
    await changeStudyStatus(server.store, 'patient-study', 'launch');
    server.sessions.forget();
    expect((await startParticipant(server, 'patient-1', 'patient-study')).status).toBe(200);
    idleFor(server, 'patient-1', 90 * MIN);
    await sweepAbandoned(server.store);
    expect(slotsAndStates(server, 'patient-study')).toEqual([{ pid: 'patient-1', slot: 0, state: 'started' }]);
    idleFor(server, 'patient-1', 31 * MIN);
    await sweepAbandoned(server.store);
    expect(slotsAndStates(server, 'patient-study')[0]!.state).toBe('abandoned');

    const legacy = (await server.store.getStudy('patient-study'))!;
    const { abandon_after_minutes: _dropped, ...oldConfig } = legacy.config;
    expect(abandonAfterMinutes({ ...legacy, config: oldConfig as typeof legacy.config })).toBe(DEFAULT_ABANDON_AFTER_MINUTES);
  });

  it('completed, screened-out and preview sessions are never touched', async () => {
    const before = slotsAndStates(server).filter((s) => s.state === 'completed').length;
    const { session } = await server.sessions.startPreview('fixture-study');
    const db = new Database(server.dbFile);
    db.prepare("UPDATE sessions SET last_activity_at = last_activity_at - ? WHERE state <> 'started' OR preview = 1").run(600 * MIN);
    db.close();
    await sweepAbandoned(server.store);
    expect(slotsAndStates(server).filter((s) => s.state === 'completed').length).toBe(before);
    // A preview that goes quiet is abandoned like any session (it holds no slot, so nothing changes for others).
    expect((await server.store.getSession(session.id))!.state).toBe('abandoned');
  });
});

describe('the server sweeps on a timer', () => {
  const saved = process.env.METAMER_ABANDON_SWEEP_MS;
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.dispose();
    if (saved === undefined) delete process.env.METAMER_ABANDON_SWEEP_MS;
    else process.env.METAMER_ABANDON_SWEEP_MS = saved;
  });

  it('marks an idle session abandoned without anybody asking', async () => {
    process.env.METAMER_ABANDON_SWEEP_MS = '100';
    server = await startTestServer({
      study: {
        abandon_after_minutes: 1,
        prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE, id_format: 'token' },
      },
    });
    const r = await startParticipant(server, 'timer-1');
    expect(r.status).toBe(200);
    idleFor(server, 'timer-1', 2 * MIN);
    const deadline = Date.now() + 5_000;
    while ((await server.store.getSession(r.view.session))!.state !== 'abandoned' && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 50));
    expect((await server.store.getSession(r.view.session))!.state).toBe('abandoned');
  });
});
