import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { median } from '../../analysis/descriptive.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, adminPost, answerTrials, completeParticipant, logIn, startParticipant } from './admin-participants.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let server: TestServer;
let cookie: string;

beforeAll(async () => {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  server = await startTestServer();
  cookie = await logIn(server);
});
afterAll(async () => {
  await server?.dispose();
});

function db() {
  return server.openDb();
}

async function getJson(p: string) {
  const r = await adminGet(server, cookie, p, 'application/json');
  expect(r.status, `${p}: ${r.text.slice(0, 200)}`).toBe(200);
  return JSON.parse(r.text);
}

describe('a study in progress, as the dashboard shows it', () => {
  const completed = ['5f1a00000000000000000c01', '5f1a00000000000000000c02'];
  const screenedOut = '5f1a00000000000000000503';
  const inProgress = '5f1a00000000000000000b04';
  let previewPid = '';

  beforeAll(async () => {
    await completeParticipant(server, completed[0]!);
    // The second misses every main trial at the last layer and the first at relu2: the table's
    // numbers then differ by condition (all-correct data would pass a table of constants).
    let relu2Seen = 0;
    await completeParticipant(server, completed[1]!, 'fixture-study', (_i, t) => {
      if (t.phase !== 'main') return true;
      if (t.layer === 'final') return false;
      return !(t.layer === 'relu2' && relu2Seen++ === 0);
    });
    const s = await startParticipant(server, screenedOut);
    const firstScreening = (await server.store.getSession(s.view.session))!.plan.trials.findIndex((t) => t.phase === 'screening');
    await answerTrials(server, s.view, { correct: (i) => i < firstScreening });
    const p = await startParticipant(server, inProgress);
    await answerTrials(server, p.view, { to: 3 });
    // The experimenter previews the study from the dashboard and finishes it.
    const pr = await adminPost(server, cookie, '/admin/studies/fixture-study/preview');
    expect(pr.status).toBe(303);
    previewPid = new URL(pr.headers.get('location')!, server.url).searchParams.get('PROLIFIC_PID')!;
    const preview = await startParticipant(server, previewPid);
    await answerTrials(server, preview.view);
    const done = await postJson(`${server.url}/api/sessions/${preview.view.session}/complete`, {});
    expect(done.body.redirect_url).toBe('/admin/studies/fixture-study?preview=completed');
  });

  it('counts sessions by state, leaves the preview out, and gives the median duration of completed sessions', async () => {
    const { progress } = await getJson('/admin/api/studies/fixture-study');
    expect(progress.sessions).toEqual({ started: 1, completed: 2, screened_out: 1, abandoned: 0 });
    expect(progress.preview_sessions).toBe(1);
    expect(progress.target_reached).toBe(false);
    const d = await db();
    const durations = (
      await d.all<{ ms: number }>("SELECT finished_at - started_at AS ms FROM sessions WHERE state = 'completed' AND preview = 0")
    ).map((r) => r.ms);
    await d.close();
    expect(durations).toHaveLength(2);
    expect(progress.median_duration_ms).toBe((durations[0]! + durations[1]!) / 2);
    expect(progress.participant_url).toBe(
      `${server.url}/run/fixture-study?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`,
    );
    expect(progress.completion_code).toBe(COMPLETION_CODE);
    expect(progress.screenout_code).toBe(SCREENOUT_CODE);
  });

  it('counts main trials per condition against the Latin-square plan', async () => {
    const { progress } = await getJson('/admin/api/studies/fixture-study');
    const d = await db();
    const stored = await d.all<{ layer: string; n: number }>(
      `SELECT layer, count(*) AS n FROM trial_rows WHERE study_id = 'fixture-study' AND preview = 0 AND phase = 'main' AND session_state = 'completed' GROUP BY layer`,
    );
    await d.close();
    // 8 sources over 4 conditions: each participant sees 2 per condition; 20 participants → 40.
    expect(progress.conditions.map((c: { layer: string }) => c.layer)).toEqual(['natural', 'relu0', 'relu2', 'final']);
    for (const c of progress.conditions) {
      expect(c.planned_at_target).toBe(40);
      expect(c.completed_trials).toBe(stored.find((s) => s.layer === c.layer)!.n);
      expect(c.completed_trials).toBe(4);
      expect(c.in_progress_trials).toBe(0);
    }
  });

  it('shows raw Prolific IDs on the payments page and its CSV only', async () => {
    const pids = [...completed, screenedOut, inProgress, previewPid];
    const elsewhere = [
      '/admin',
      '/admin/live',
      '/admin/studies/fixture-study',
      '/admin/studies/fixture-study/live',
      '/admin/api/studies',
      '/admin/api/studies/fixture-study',
      '/admin/studies/fixture-study/trials.csv',
      '/admin/studies/fixture-study/recognizability.csv',
      '/admin/studies/fixture-study/recognizability.json',
      '/admin/studies/fixture-study/recognizability.md',
      '/admin/studies/fixture-study/figure.svg',
    ];
    for (const p of elsewhere) {
      const r = await adminGet(server, cookie, p);
      expect(r.status, p).toBe(200);
      for (const pid of pids) expect(r.text, `${pid} in ${p}`).not.toContain(pid);
    }
    const zip = await fetch(`${server.url}/admin/studies/fixture-study/psych-ds.zip`, { headers: { Cookie: cookie } });
    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    for (const content of Object.values(files)) for (const pid of pids) expect(strFromU8(content)).not.toContain(pid);

    const page = await adminGet(server, cookie, '/admin/studies/fixture-study/payments');
    for (const pid of completed) expect(page.text).toContain(pid);
    for (const pid of [screenedOut, inProgress, previewPid]) expect(page.text).not.toContain(pid);
    const csv = await adminGet(server, cookie, '/admin/studies/fixture-study/payments.csv');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="fixture-study_payments.csv"');
    const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.prolific_pid).sort()).toEqual([...completed].sort());
    expect(rows.every((r) => r.prolific_session_id === `se-${r.prolific_pid}` && r.prolific_study_id === 'st')).toBe(true);
  });

  it('the trials CSV download is the database, row for row, without the preview', async () => {
    const r = await adminGet(server, cookie, '/admin/studies/fixture-study/trials.csv');
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse(r.text, { columns: true }) as Record<string, string>[];
    const d = await db();
    const expected = await d.all<Record<string, string | number>>(
      `SELECT participant_id, 's-' || participant_id AS session_id, phase, trial_index, stimulus_id, model, layer, response, correct
         FROM trial_rows WHERE study_id = 'fixture-study' AND preview = 0 ORDER BY trial_rows.session_id, trial_index`,
    );
    // The stored session id is the session's bearer token: it never leaves the server.
    const tokens = (await d.all<{ id: string }>('SELECT id FROM sessions')).map((x) => x.id);
    for (const t of tokens) expect(r.text).not.toContain(t);
    const previewRows = (await d.get<{ n: number }>('SELECT count(*) AS n FROM trial_rows WHERE preview = 1'))!.n;
    await d.close();
    expect(previewRows).toBeGreaterThan(0);
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      const e = expected[i]!;
      for (const k of Object.keys(e)) expect(row[k], `row ${i} ${k}`).toBe(String(e[k] ?? ''));
    });
  });

  it('the recognizability downloads are what `metamer analyze` computes, and the numbers are right', async () => {
    const r = await adminGet(server, cookie, '/admin/studies/fixture-study/recognizability.csv');
    const cli = await run(
      process.execPath,
      ['bin/metamer.js', '--db', server.dbFile, 'analyze', 'fixture-study', '--format', 'csv', '--no-progress'],
      {
        cwd: ROOT,
        env: { ...process.env, ...server.cliEnv },
      },
    );
    expect(r.text).toBe(cli.stdout);
    const rows = parse(r.text, { columns: true }) as Record<string, string>[];
    // Two included participants, two main trials each per condition, 4 choices: the first right
    // everywhere, the second right on natural and relu0, on one of two at relu2, on none at final.
    expect(rows.map((x) => [x.layer, x.n_participants, x.n_trials, Number(x.recognizability), x.chance])).toEqual([
      ['natural', '2', '4', 1, '0.25'],
      ['relu0', '2', '4', 1, '0.25'],
      ['relu2', '2', '4', 0.75, '0.25'],
      ['final', '2', '4', 0.5, '0.25'],
    ]);
    // The same, straight from the stored trials: the mean over participants of each one's accuracy.
    const d = await db();
    const fromRows = await d.all<{ layer: string; r: number }>(
      `SELECT layer, AVG(acc) AS r FROM (SELECT t.layer, s.id, AVG(t.correct) AS acc FROM trials t JOIN sessions s ON s.id = t.session_id
         WHERE s.state = 'completed' AND s.preview = 0 AND t.phase = 'main' GROUP BY t.layer, s.id) AS per_session GROUP BY layer`,
    );
    await d.close();
    for (const row of rows)
      expect(Number(row.recognizability), row.layer).toBeCloseTo(Number(fromRows.find((x) => x.layer === row.layer)!.r), 12);
    const json = JSON.parse((await adminGet(server, cookie, '/admin/studies/fixture-study/recognizability.json')).text);
    expect(json.exclusions.participants_included).toBe(2);
    expect(json.table).toHaveLength(4);
    const md = (await adminGet(server, cookie, '/admin/studies/fixture-study/recognizability.md')).text;
    expect(md).toContain('# Recognizability: study fixture-study');
    const svg = await adminGet(server, cookie, '/admin/studies/fixture-study/figure.svg');
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(svg.text).toMatch(/^<svg/);
  });

  it('the Psych-DS zip holds the description and the same trials CSV', async () => {
    const res = await fetch(`${server.url}/admin/studies/fixture-study/psych-ds.zip`, { headers: { Cookie: cookie } });
    expect(res.headers.get('content-type')).toBe('application/zip');
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual([
      'study-fixturestudy/data/study-fixturestudy_data.csv',
      'study-fixturestudy/dataset_description.json',
    ]);
    const csv = (await adminGet(server, cookie, '/admin/studies/fixture-study/trials.csv')).text;
    expect(strFromU8(files['study-fixturestudy/data/study-fixturestudy_data.csv']!)).toBe(csv);
    expect(JSON.parse(strFromU8(files['study-fixturestudy/dataset_description.json']!)).identifier).toBe('fixture-study');
  });

  it('the study page shows the URL to paste, the codes, the counts and the table', async () => {
    const r = await adminGet(server, cookie, '/admin/studies/fixture-study');
    expect(r.status).toBe(200);
    expect(r.text).toContain('PROLIFIC_PID={{%PROLIFIC_PID%}}&#38;STUDY_ID={{%STUDY_ID%}}&#38;SESSION_ID={{%SESSION_ID%}}');
    expect(r.text).toContain(COMPLETION_CODE);
    expect(r.text).toContain(SCREENOUT_CODE);
    expect(r.text).toMatch(/data-field="completed">2</);
    expect(r.text).toContain('data-table="recognizability"');
    expect(r.headers.get('cache-control')).toBe('no-store');
    // Same-origin script and style only: the CSP forbids inline ones, so none are written.
    expect(r.text).not.toMatch(/<script>|<style|onclick=/);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('a sweep from the dashboard abandons the idle session and frees its slot', async () => {
    const d = await db();
    await d.run('UPDATE sessions SET last_activity_at = last_activity_at - ? WHERE prolific_pid = ?', 61 * 60_000, inProgress);
    const slot = (await d.get<{ slot: number }>('SELECT slot FROM sessions WHERE prolific_pid = ?', inProgress))!.slot;
    await d.close();
    const r = await adminPost(server, cookie, '/admin/studies/fixture-study/sweep');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/admin/studies/fixture-study?done=sweep&n=1');
    const { progress } = await getJson('/admin/api/studies/fixture-study');
    expect(progress.sessions.abandoned).toBe(1);
    const next = await startParticipant(server, '5f1a00000000000000000d05');
    expect((await server.store.getSession(next.view.session))!.slot).toBe(slot);
  });
});

describe('creating and running studies from the dashboard', () => {
  const form = (over: Record<string, string> = {}) => ({
    stimulus_set: 'fixture',
    id: 'form-study',
    title: 'Form study',
    target_completed: '2',
    completion_code: 'FORMDONE',
    screenout_code: 'FORMOUT',
    complete_url: '',
    abandon_after_minutes: '45',
    practice_trials: '2',
    screening_trials: '3',
    screening_min_correct: '2',
    catch_trials: '1',
    main_sources: '',
    advanced: '',
    ...over,
  });

  it('names the fields that are wrong and creates nothing', async () => {
    const r = await adminPost(
      server,
      cookie,
      '/admin/studies',
      form({ id: '', completion_code: 'has spaces', screening_min_correct: '9' }),
    );
    expect(r.status).toBe(422);
    expect(r.text).toContain('The study was not created.');
    expect(r.text).toMatch(/id="f-id"[^>]*aria-invalid="true"/);
    expect(r.text).toMatch(/id="f-completion_code"[^>]*aria-invalid="true"/);
    expect(r.text).toContain('prolific.completion_code');
    // What was typed is kept.
    expect(r.text).toContain('value="has spaces"');
    const bad = await adminPost(server, cookie, '/admin/studies', form({ advanced: '{"timing": ' }));
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('not valid JSON');
    const noSet = await adminPost(server, cookie, '/admin/studies', form({ stimulus_set: 'nope' }));
    expect(noSet.status).toBe(422);
    expect(noSet.text).toContain('no stimulus set &#34;nope&#34;');
    expect(await server.store.getStudy('form-study')).toBeUndefined();
  });

  it('creates and launches a study from the form, with every field in its config', async () => {
    const r = await adminPost(
      server,
      cookie,
      '/admin/studies',
      form({ launch: 'on', advanced: '{"timing": {"stimulus_ms": 200}, "seed": 7}' }),
    );
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/admin/studies/form-study?done=created');
    const row = (await server.store.getStudy('form-study'))!;
    expect(row.status).toBe('live');
    expect(row.config).toMatchObject({
      title: 'Form study',
      modality: 'image',
      target_completed: 2,
      abandon_after_minutes: 45,
      seed: 7,
      prolific: { completion_code: 'FORMDONE', screenout_code: 'FORMOUT', complete_url: 'https://app.prolific.com/submissions/complete' },
      protocol: { practice_trials: 2, screening_trials: 3, screening_min_correct: 2, catch_trials: 1, main_sources: 'all' },
      timing: { stimulus_ms: 200, blank_ms: 500 },
    });
    const again = await adminPost(server, cookie, '/admin/studies', form());
    expect(again.status).toBe(422);
    expect(again.text).toContain('study &#34;form-study&#34; already exists');
  });

  it('pauses, resumes and closes; a closed study cannot be launched again', async () => {
    for (const [action, status] of [
      ['pause', 'paused'],
      ['launch', 'live'],
      ['close', 'closed'],
    ] as const) {
      const r = await adminPost(server, cookie, `/admin/studies/form-study/${action}`);
      expect(r.status).toBe(303);
      expect((await server.store.getStudy('form-study'))!.status).toBe(status);
    }
    const page = await fetch(`${server.url}/run/form-study?PROLIFIC_PID=5f1a0000000000000000c101`);
    expect(page.status).toBe(403);
    const r = await adminPost(server, cookie, '/admin/studies/form-study/launch');
    expect(r.status).toBe(409);
    expect(r.text).toContain('study form-study is closed; it cannot launch');
    const j = await adminPost(server, cookie, '/admin/studies/form-study/launch', {}, { json: true });
    expect(j.status).toBe(409);
    expect(JSON.parse(j.text).error).toBe('study form-study is closed; it cannot launch');
  });

  it('a preview runs on a closed study, is not counted, holds no slot and returns to the dashboard', async () => {
    const r = await adminPost(server, cookie, '/admin/studies/form-study/preview', {}, { json: true });
    expect(r.status).toBe(201);
    const url = new URL(JSON.parse(r.text).url);
    expect(url.pathname).toBe('/run/form-study');
    const pid = url.searchParams.get('PROLIFIC_PID')!;
    expect(pid).toMatch(/^preview-/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Preview · Form study</title>');
    const s = await startParticipant(server, pid, 'form-study');
    expect(s.status).toBe(200);
    await answerTrials(server, s.view);
    const done = await postJson(`${server.url}/api/sessions/${s.view.session}/complete`, {});
    expect(done.body.redirect_url).toBe('/admin/studies/form-study?preview=completed');
    expect(await server.store.countSessions('form-study')).toEqual({ started: 0, completed: 0, screened_out: 0, abandoned: 0 });
    expect(await server.store.completedPayments('form-study')).toEqual([]);
    const shown = await adminGet(server, cookie, '/admin/studies/form-study?preview=completed');
    expect(shown.text).toContain('Your preview run is complete');
  });
});

describe('the target cap, with more participants than places', () => {
  it('turns new people away once the target is reached; those already in may finish', async () => {
    const config = {
      id: 'capped',
      stimulus_set: 'fixture',
      modality: 'image',
      prolific: { completion_code: 'CAPDONE', screenout_code: 'CAPOUT' },
      target_completed: 2,
      protocol: { practice_trials: 1, screening_trials: 0, catch_trials: 0 },
    };
    const created = await adminPost(server, cookie, '/admin/studies', config, { json: true });
    expect(created.status).toBe(201);
    expect((await adminPost(server, cookie, '/admin/studies/capped/launch', {}, { json: true })).status).toBe(200);

    // Five arrive together: nobody has completed yet, so all five get in.
    const pids = [1, 2, 3, 4, 5].map((i) => `5f1a0000000000000000ca0${i}`);
    const starts = await Promise.all(pids.map((pid) => startParticipant(server, pid, 'capped')));
    expect(starts.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    // Two finish: the target is reached.
    for (const s of starts.slice(0, 2)) {
      await answerTrials(server, s.view);
      expect((await postJson(`${server.url}/api/sessions/${s.view.session}/complete`, {})).status).toBe(200);
    }
    const sixth = await startParticipant(server, '5f1a0000000000000000ca06', 'capped');
    expect(sixth.status).toBe(403);
    expect(sixth.body.code).toBe('full');
    // A reload of someone already in gives their session back, and they finish.
    for (const pid of pids.slice(2)) {
      const again = await startParticipant(server, pid, 'capped');
      expect(again.status).toBe(200);
      await answerTrials(server, again.view);
      expect((await postJson(`${server.url}/api/sessions/${again.view.session}/complete`, {})).status).toBe(200);
    }
    expect(await server.store.countSessions('capped')).toEqual({ started: 0, completed: 5, screened_out: 0, abandoned: 0 });
    expect((await startParticipant(server, '5f1a0000000000000000ca07', 'capped')).status).toBe(403);
    const { progress } = await getJson('/admin/api/studies/capped');
    expect(progress.target_reached).toBe(true);
    const list = await adminGet(server, cookie, '/admin');
    expect(list.text).toMatch(/data-study="capped"[\s\S]*?Target reached/);
    // The experimenter can still preview a full study.
    expect((await adminPost(server, cookie, '/admin/studies/capped/preview')).status).toBe(303);
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNaN();
    expect(median([5])).toBe(5);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
