/**
 * The headphone check on the server: its place in the plan, what the browser is told (never the
 * answers), the files it is served, the gate (pass mark, screen-out, order of trials) and the
 * config that drives it. A real server over HTTP with a real SQLite file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView, TrialRecord } from '../../experiment/contract.ts';
import { buildSessionPlan, studyDesign } from '../../server/session-plan.ts';
import { StudyConfig } from '../../server/study-config.ts';
import { decodeHeadphoneParams, headphoneAnswer, headphoneTrialMs, headphoneTrialWav } from '../../server/headphone-stimuli.ts';
import {
  backdateSession,
  COMPLETION_CODE,
  pidOf,
  postJson,
  SCREENOUT_CODE,
  startTestServer,
  type TestServer,
} from '../support/test-server.ts';

let server: TestServer;
let pidCounter = 0;
const newPid = () => pidOf(`headphone-gate-${++pidCounter}`);

beforeAll(async () => {
  server = await startTestServer({ modality: 'audio' });
});
afterAll(async () => {
  await server?.dispose();
});

/** Prolific ID of each session started here. */
const pids = new Map<string, string>();

async function start(): Promise<SessionView> {
  const pid = newPid();
  const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, { prolific_pid: pid, prolific_session_id: `se-${pid}` });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  pids.set(r.body.session, pid);
  // These tests answer at full speed; pacing has its own tests.
  await backdateSession(server, r.body.session);
  return r.body as SessionView;
}

async function planOf(session: string) {
  return (await server.store.getSession(session))!.plan;
}

/** Answers trial `index` right, or with another of its choices. */
async function answer(view: SessionView, index: number, correct: boolean) {
  const planned = (await planOf(view.session)).trials[index]!;
  const choices = planned.choices ?? view.choices;
  const response = correct ? planned.category : choices.find((c) => c !== planned.category)!;
  const record: TrialRecord = { trial_index: index, response, rt_ms: 950 };
  return postJson(`${server.url}/api/sessions/${view.session}/trials`, record);
}

const gate = (view: SessionView, phase: string) => postJson(`${server.url}/api/sessions/${view.session}/gates/${phase}`, {});

function storedRows(session: string) {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return db
      .prepare('SELECT trial_index, phase, category, response, correct, model, layer FROM trials WHERE session_id = ? ORDER BY trial_index')
      .all(session) as {
      trial_index: number;
      phase: string;
      category: string;
      response: string;
      correct: number;
      model: string;
      layer: string;
    }[];
  } finally {
    db.close();
  }
}

describe('the check in the session', () => {
  it('opens an audio session with six headphone trials whose answers stay on the server', async () => {
    const view = await start();
    const plan = await planOf(view.session);
    const check = view.trials.filter((t) => t.phase === 'headphone');
    expect(check.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(view.trials[6]!.phase).toBe('practice');
    expect(view.headphone).toEqual({
      test: 'antiphase',
      calibration: expect.stringMatching(/^\/stimuli\/[0-9a-f]{64}\.wav$/),
      last_index: 5,
    });
    expect(view.screening_last_index).toBe(6 + 2 + 3 - 1);
    expect(view.response_mode).toBe('buttons');
    for (const t of check) {
      expect(t.choices).toEqual(['1', '2', '3']);
      expect(Object.keys(t).sort()).toEqual(['choices', 'index', 'phase', 'stimulus']);
      // Made for this session, served by this server: a name of its own (stimulus-keys.ts).
      expect(t.stimulus).toMatch(/^\/stimuli\/[0-9a-f]{32}\.wav$/);
    }
    // The six trials are the six orders of the tones: each interval is the answer twice, in an order of this session's own.
    expect(
      plan.trials
        .slice(0, 6)
        .map((t) => t.category)
        .sort(),
    ).toEqual(['1', '1', '2', '2', '3', '3']);
    expect(new Set(plan.trials.slice(0, 6).map((t) => t.stimulus_id)).size).toBe(6);
    const text = JSON.stringify(view);
    for (const t of plan.trials.slice(0, 6)) expect(text).not.toContain(t.stimulus_id);
  });

  it('serves the check sounds, whole and by range, each the sound its trial plans; no URL is a content hash', async () => {
    const view = await start();
    const plan = await planOf(view.session);
    for (const url of [view.headphone!.calibration, ...view.trials.slice(0, 6).map((t) => t.stimulus)]) {
      const res = await fetch(server.url + url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const body = Buffer.from(await res.arrayBuffer());
      const hash = createHash('sha256').update(body).digest('hex');
      expect(url).not.toContain(hash);
      expect(res.headers.get('etag')).not.toContain(hash);
    }
    for (const t of plan.trials.slice(0, 6)) {
      const params = decodeHeadphoneParams(Buffer.from(t.file.slice('generated/'.length, -4), 'hex'))!;
      const body = Buffer.from(await (await fetch(server.url + view.trials[t.index]!.stimulus)).arrayBuffer());
      expect(body.equals(headphoneTrialWav(params))).toBe(true);
      expect(headphoneAnswer(params)).toBe(t.category);
    }
    // A name the server never issued is a 404, not a sound.
    expect((await fetch(`${server.url}/stimuli/${'ab'.repeat(16)}.wav`)).status).toBe(404);
    const part = await fetch(server.url + view.headphone!.calibration, { headers: { Range: 'bytes=0-43' } });
    expect(part.status).toBe(206);
    const head = Buffer.from(await part.arrayBuffer());
    expect(head.toString('ascii', 0, 4)).toBe('RIFF');
    expect(head.readUInt16LE(22)).toBe(2);
  });
});

describe('the headphone gate', () => {
  it('waits for all six, passes at 5 of 6, and only then takes the trials after it', async () => {
    const view = await start();
    for (let i = 0; i < 5; i++) expect((await answer(view, i, i !== 2)).status).toBe(200);
    const early = await gate(view, 'headphone');
    expect(early.status).toBe(409);
    expect(early.body.missing).toEqual([5]);
    // A practice trial before the check is settled is out of order: the queue would retry it.
    expect((await answer(view, 6, true)).status).toBe(425);
    // Headphone answers are interval labels; other trials' answers are categories.
    const bad = async (index: number, response: string) =>
      postJson(`${server.url}/api/sessions/${view.session}/trials`, { trial_index: index, response, rt_ms: 1 });
    expect((await bad(5, '4')).status).toBe(400);
    expect((await bad(5, 'bear')).status).toBe(400);
    expect((await answer(view, 5, true)).status).toBe(200);
    expect((await gate(view, 'headphone')).body).toEqual({ passed: true, redirect_url: null });
    expect((await gate(view, 'headphone')).body).toEqual({ passed: true, redirect_url: null });
    expect((await server.store.getSession(view.session))!.state).toBe('started');
    expect((await bad(6, '2')).status).toBe(400);
    expect((await answer(view, 6, true)).status).toBe(200);
    // The screening gate comes next, as before.
    const screeningLast = view.screening_last_index!;
    for (let i = 7; i <= screeningLast; i++) expect((await answer(view, i, true)).status).toBe(200);
    expect((await answer(view, screeningLast + 1, true)).status).toBe(425);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {})).body).toEqual({
      passed: true,
      redirect_url: null,
    });
    for (let i = screeningLast + 1; i < view.trials.length; i++) expect((await answer(view, i, true)).status).toBe(200);
    const done = await postJson(`${server.url}/api/sessions/${view.session}/complete`, {});
    expect(done.body.redirect_url).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const rows = storedRows(view.session);
    expect(rows.map((r) => r.trial_index)).toEqual(view.trials.map((t) => t.index));
    expect(rows.slice(0, 6).map((r) => [r.phase, r.correct])).toEqual([0, 1, 2, 3, 4, 5].map((i) => ['headphone', i === 2 ? 0 : 1]));
    // Rows of the check read as natural (no model), so exported tables stay valid analysis input.
    expect(rows.slice(0, 6).every((r) => r.model === '' && r.layer === 'natural' && ['1', '2', '3'].includes(r.category))).toBe(true);
  });

  it('below the pass mark ends the session as screened out, with the screen-out code, and stores nothing after the check', async () => {
    const view = await start();
    for (let i = 0; i < 6; i++) await answer(view, i, i < 4);
    const r = await gate(view, 'headphone');
    expect(r.body).toEqual({ passed: false, redirect_url: `https://app.prolific.com/submissions/complete?cc=${SCREENOUT_CODE}` });
    expect((await server.store.getSession(view.session))!.state).toBe('screened_out');
    const late = await answer(view, 6, true);
    expect(late.status).toBe(410);
    expect(late.body.redirect_url).toBe(r.body.redirect_url);
    // A late copy of a check trial (a retry) is still answered as a duplicate.
    expect((await answer(view, 0, true)).body).toEqual({ stored: 'duplicate' });
    expect((await gate(view, 'headphone')).body).toEqual(r.body);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {})).body).toEqual(r.body);
    expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(410);
    expect(storedRows(view.session).map((r) => [r.trial_index, r.phase])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, 'headphone']));
    // The page says so on a reload.
    const pid = pids.get(view.session)!;
    const page = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${pid}&SESSION_ID=se-${pid}`);
    expect(await page.text()).toContain(`cc=${SCREENOUT_CODE}`);
  });

  it('decides the screening gate only after the check, and refuses unknown gates', async () => {
    const view = await start();
    const r = await postJson(`${server.url}/api/sessions/${view.session}/gates/screening`, {});
    expect(r.status).toBe(409);
    expect(r.body.missing).toEqual([0, 1, 2, 3, 4, 5]);
    expect((await gate(view, 'nonsense')).status).toBe(404);
  });
});

describe('the check in the study config', () => {
  const base = {
    id: 'study',
    stimulus_set: 'set',
    modality: 'audio',
    prolific: { completion_code: 'DONE1', screenout_code: 'OUT1' },
    target_completed: 10,
  } as const;

  it('fills in the audio template docs/audio-studies.md documents, with the check on; images have none', () => {
    // Each row of the doc's defaults table: | `field` (/ `field`) | value (/ value) | meaning |
    const doc = fs.readFileSync(path.join(import.meta.dirname, '../../docs/audio-studies.md'), 'utf8');
    const documented: Record<string, string | number> = {};
    for (const m of doc.matchAll(/^\| (`\w+`(?: \/ `\w+`)*) \| ([^|]+) \|/gm)) {
      const fields = [...m[1]!.matchAll(/`(\w+)`/g)].map((f) => f[1]!);
      const values = m[2]!.split(' / ').map((v) => v.trim().replace(/^`(.*)`$/, '$1'));
      for (const [i, f] of fields.entries()) documented[f] = /^\d+$/.test(values[i]!) ? Number(values[i]) : values[i]!;
    }
    expect(Object.keys(documented)).toEqual(
      expect.arrayContaining([
        'headphone_check',
        'headphone_trials',
        'headphone_min_correct',
        'practice_trials',
        'screening_min_correct',
        'typed_response_above',
      ]),
    );
    expect(StudyConfig.parse(base).protocol).toMatchObject(documented);
    expect(StudyConfig.parse({ ...base, modality: 'image' }).protocol.headphone_check).toBe('none');
  });

  it('refuses a check on an image study and a pass mark above the trial count, naming the field', () => {
    const image = StudyConfig.safeParse({ ...base, modality: 'image', protocol: { headphone_check: 'huggins' } });
    expect(image.success).toBe(false);
    expect(image.error!.issues[0]!.path).toEqual(['protocol', 'headphone_check']);
    const high = StudyConfig.safeParse({ ...base, protocol: { headphone_trials: 4, headphone_min_correct: 5 } });
    expect(high.success).toBe(false);
    expect(high.error!.issues[0]!.path).toEqual(['protocol', 'headphone_min_correct']);
    // Another trial count without a pass mark scales Woods et al.'s 5 of 6.
    expect(StudyConfig.parse({ ...base, protocol: { headphone_trials: 12 } }).protocol.headphone_min_correct).toBe(10);
  });

  it('plans the configured test and count; none, or a config from before the check, plans none', async () => {
    const manifest = (await server.store.getStimulusSet('fixture'))!;
    const cfg = (protocol: object) =>
      StudyConfig.parse({
        ...base,
        stimulus_set: 'fixture',
        protocol: { practice_trials: 1, screening_trials: 0, catch_trials: 0, ...protocol },
      });
    const huggins = buildSessionPlan(cfg({ headphone_check: 'huggins', headphone_trials: 8 }), manifest, 3);
    const check = huggins.trials.filter((t) => t.phase === 'headphone');
    expect(check.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(huggins.headphoneLastIndex).toBe(7);
    expect(check.every((t) => /^headphone\/huggins\/target-[123]$/.test(t.stimulus_id) && t.stimulus_id.endsWith(t.category))).toBe(true);
    // Every target position comes once before any comes a third time (3 positions, 8 trials).
    expect(new Set(check.slice(0, 3).map((t) => t.category)).size).toBe(3);
    expect(new Set(check.slice(3, 6).map((t) => t.category)).size).toBe(3);
    // Each session draws its own sounds: the same slot twice gives other files.
    const again = buildSessionPlan(cfg({ headphone_check: 'huggins', headphone_trials: 8 }), manifest, 3);
    expect(
      again.trials
        .slice(0, 8)
        .map((t) => t.file)
        .filter((f) => check.some((c) => c.file === f)),
    ).toEqual([]);
    // The minimum presentation time of a headphone trial is its sound's duration.
    expect(check.every((t) => t.min_ms === headphoneTrialMs('huggins'))).toBe(true);

    const none = buildSessionPlan(cfg({ headphone_check: 'none' }), manifest, 3);
    expect(none.trials.some((t) => t.phase === 'headphone')).toBe(false);
    expect(none.headphoneLastIndex).toBeNull();
    // The check adds trials in front and leaves the rest of the plan as it was.
    const withCheck = buildSessionPlan(cfg({}), manifest, 3);
    expect(withCheck.trials.slice(6).map(({ index: _, ...t }) => t)).toEqual(none.trials.map(({ index: _, ...t }) => t));

    const old = cfg({}) as { protocol: Record<string, unknown> };
    for (const k of ['headphone_check', 'headphone_trials', 'headphone_min_correct', 'typed_response_above']) delete old.protocol[k];
    const oldPlan = buildSessionPlan(old as StudyConfig, manifest, 3, studyDesign(old as StudyConfig, manifest));
    expect(oldPlan.trials.some((t) => t.phase === 'headphone')).toBe(false);
  });
});
