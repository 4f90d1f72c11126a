/**
 * Session evidence through the real server: the page-report route (validation, the per-session
 * limit, the User-Agent the server saw), and a scripted session's quality flags where an
 * experimenter decides — the dashboard's sessions table, the payments page and CSV, the
 * `studySessionFlags` that Prolific approval uses — and the `flagged` exclusion in its config form.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASUREMENT_COLUMNS } from '../../analysis/trial-measurements.ts';
import type { SessionView, TrialRecord } from '../../experiment/contract.ts';
import { studySessionFlags } from '../../server/session-quality.ts';
import type { PlannedTrial } from '../../server/session-plan.ts';
import { changeStudyStatus, createStudy } from '../../server/studies.ts';
import { PAGE_REPORTS_PER_SESSION } from '../../server/store/store.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, logIn, startParticipant } from './admin-participants.ts';

const HEADLESS_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36';
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

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

/** Rows of a query on the server's database, whichever store the run uses. */
async function query<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  const db = await server.openDb();
  try {
    return await db.all<T>(sql, ...params);
  } finally {
    await db.close();
  }
}

const report = (session: string, body: unknown, ua = DESKTOP_UA) =>
  postJson(`${server.url}/api/sessions/${session}/page-report`, body, {
    headers: { 'Content-Type': 'application/json', 'User-Agent': ua },
  });
const clean = { webdriver: false, automation_globals: [] };

type Answer = (i: number, t: PlannedTrial, choices: string[]) => Pick<TrialRecord, 'response' | 'rt_ms' | 'evidence'>;

/** Posts every planned trial as `answer` says (asking the screening gate), then completes. */
async function playThrough(view: SessionView, answer: Answer): Promise<void> {
  const plan = (await server.store.getSession(view.session))!.plan.trials;
  for (const t of plan) {
    const api = `${server.url}/api/sessions/${view.session}`;
    const r = await postJson(`${api}/trials`, { trial_index: t.index, ...answer(t.index, t, view.choices) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    if (t.index === view.screening_last_index) expect((await postJson(`${api}/gates/screening`, {})).body.passed).toBe(true);
  }
  expect((await postJson(`${server.url}/api/sessions/${view.session}/complete`, {})).status).toBe(200);
}

/** A script: headless browser signs, the same button on everything but the screening, 1 ms responses. */
const SCRIPT_FLAGS = ['fast_responses', 'stereotyped', 'automation', 'missing_measurements'];
const scripted: Answer = (_i, t) => ({ response: t.phase === 'screening' ? t.category : 'dog', rt_ms: 1 });

/** Answers as the study's page sends them: right, in a plausible time, with the page's measurements. */
const careful: Answer = (_i, t) => ({
  response: t.category,
  rt_ms: 155,
  evidence: { stimulus_frames: 6, stimulus_target_ms: 100, page_hidden: false, left_fullscreen: false, untrusted_events: 0 },
});

describe('the page-report route', () => {
  let session: string;
  beforeAll(async () => {
    session = (await startParticipant(server, '5f1a0000000000000000e001')).view.session;
  });

  it('stores the report as canonical JSON with the User-Agent the server saw', async () => {
    const r = await report(session, { automation_globals: ['callPhantom'], webdriver: true }, HEADLESS_UA);
    expect(r).toEqual({ status: 200, body: { stored: 'created' } });
    const rows = await query('SELECT seq, report, user_agent FROM page_reports WHERE session_id = ?', session);
    expect(rows).toEqual([{ seq: 0, report: '{"automation_globals":["callPhantom"],"webdriver":true}', user_agent: HEADLESS_UA }]);
  });

  it('refuses a malformed report with the field named, and an unknown session', async () => {
    expect(await report(session, { webdriver: 'yes', automation_globals: [] })).toMatchObject({
      status: 400,
      body: { code: 'invalid_page_report', error: expect.stringMatching(/^page report: webdriver: /) },
    });
    expect(await report(session, { ...clean, screen: 1 })).toMatchObject({ status: 400, body: { code: 'invalid_page_report' } });
    expect(await report(session, { webdriver: false, automation_globals: Array(33).fill('x') })).toMatchObject({ status: 400 });
    expect((await postJson(`${server.url}/api/sessions/${session}/page-report`, '{"webdriver":')).status).toBe(400);
    expect(await report('no-such-session', clean)).toMatchObject({ status: 404, body: { code: 'no_session' } });
  });

  it(`keeps at most ${PAGE_REPORTS_PER_SESSION} per session, then answers 409 and keeps what it has`, async () => {
    const have = (await query<{ n: number }>('SELECT count(*) AS n FROM page_reports WHERE session_id = ?', session))[0]!.n;
    const sent = await Promise.all(Array.from({ length: PAGE_REPORTS_PER_SESSION + 3 - have }, () => report(session, clean)));
    expect(sent.filter((r) => r.status === 200)).toHaveLength(PAGE_REPORTS_PER_SESSION - have);
    expect(sent.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(['report_limit', 'report_limit', 'report_limit']);
    const seqs = await query<{ seq: number }>('SELECT seq FROM page_reports WHERE session_id = ? ORDER BY seq', session);
    expect(seqs.map((r) => r.seq)).toEqual(Array.from({ length: PAGE_REPORTS_PER_SESSION }, (_, i) => i));
  });
});

describe('a scripted session, where an experimenter decides', () => {
  const botPid = '5f1a0000000000000000b0b1';
  let bot: SessionView;

  beforeAll(async () => {
    bot = (await startParticipant(server, botPid)).view;
    expect((await report(bot.session, { webdriver: true, automation_globals: [] }, HEADLESS_UA)).status).toBe(200);
    await playThrough(bot, scripted);
  });

  it('has flags with reasons, keyed by session id for Prolific approval', async () => {
    const flags = await studySessionFlags(server.store, (await server.store.getStudy('fixture-study'))!);
    const mine = flags.get(bot.session)!;
    expect(mine.map((f) => f.code)).toEqual(SCRIPT_FLAGS);
    const n = bot.trials.length;
    const stored = await server.store.trialsOfSession(bot.session);
    const dogs = stored.filter((t) => t.response === 'dog').length;
    const dogTrials = stored.filter((t) => t.category === 'dog').length;
    const screeningDogs = stored.filter((t) => t.phase === 'screening' && t.category === 'dog').length;
    expect(dogs).toBe(stored.filter((t) => t.phase !== 'screening').length + screeningDogs);
    expect(mine[0]!.reason).toBe(`${n} of ${n} (100%) responses faster than 150 ms (limit 10%)`);
    const dogShare = `${dogs} of ${n} (${Math.round((100 * dogs) / n)}%)`;
    expect(mine[1]!.reason).toBe(`"dog" on ${dogShare} trials, the right answer on ${dogTrials} (limit 50%)`);
    expect(mine[2]!.reason).toBe('navigator.webdriver was true; the User-Agent says HeadlessChrome');
    expect(mine[3]!.reason).toBe(`${n} of ${n} (100%) trials came without the page's measurements`);
  });

  it('shows them on the sessions table and the payments page, and in the payments CSV', async () => {
    const sessions = await query<{ participant_id: string }>('SELECT participant_id FROM sessions WHERE prolific_pid = ?', botPid);
    const participant = sessions[0]!.participant_id;
    const page = await adminGet(server, cookie, '/admin/studies/fixture-study');
    const row = page.text.split('<tr>').find((r) => r.includes(participant))!;
    expect(row).toContain('data-flags="fast_responses stereotyped automation missing_measurements"');
    expect(row).toContain('navigator.webdriver was true; the User-Agent says HeadlessChrome');

    const payments = await adminGet(server, cookie, '/admin/studies/fixture-study/payments');
    const prow = payments.text.split('<tr>').find((r) => r.includes(botPid))!;
    expect(prow).toContain('data-flags="fast_responses stereotyped automation missing_measurements"');
    expect(prow).toContain('Same answer');

    const download = await adminGet(server, cookie, '/admin/studies/fixture-study/payments.csv', 'text/csv');
    const csv = parse(download.text, { columns: true }) as Record<string, string>[];
    const line = csv.find((r) => r.prolific_pid === botPid)!;
    expect(Object.keys(line)).toEqual(['prolific_pid', 'prolific_study_id', 'prolific_session_id', 'completed_at', 'duration_s', 'flags']);
    expect(line.flags!.split(' | ').map((f) => f.split(':')[0])).toEqual(SCRIPT_FLAGS);
    expect(line.flags).toContain('responses faster than 150 ms');
  });

  it('the trials export carries the page measurements the records hold (empty where there were none)', async () => {
    const download = await adminGet(server, cookie, '/admin/studies/fixture-study/trials.csv', 'text/csv');
    const csv = parse(download.text, { columns: true }) as Record<string, string>[];
    expect(Object.keys(csv[0]!)).toEqual(expect.arrayContaining(MEASUREMENT_COLUMNS.map((c) => c.name)));
    expect(csv.every((r) => r.stimulus_frames === '' && r.page_hidden === '')).toBe(true);
  });
});

describe('the flagged exclusion rule, from the study config', () => {
  it('leaves out the flagged participant and reports the rule with the reasons', async () => {
    const config = {
      id: 'excludes-flagged',
      stimulus_set: 'fixture',
      modality: 'image' as const,
      prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE },
      target_completed: 20,
      protocol: { practice_trials: 2, slow_practice_trials: 1, screening_trials: 3, screening_min_correct: 2, catch_trials: 1 },
      exclusions: { flagged: true },
      // The API client answers faster than any person could move: its honest stand-in would trip the
      // timing rule, which this test is not about.
      quality: { timing_slack_ms: 60_000 },
    };
    await createStudy(server.store, config);
    await changeStudyStatus(server.store, config.id, 'launch');
    const good = (await startParticipant(server, '5f1a0000000000000000a0d1', config.id)).view;
    await report(good.session, { webdriver: false, automation_globals: [] });
    await playThrough(good, careful);
    const bad = (await startParticipant(server, '5f1a0000000000000000a0d2', config.id)).view;
    await report(bad.session, { webdriver: false, automation_globals: [] });
    await playThrough(bad, scripted);

    type Row = { id: string; participant_id: string };
    const rows = await query<Row>('SELECT id, participant_id FROM sessions WHERE study_id = ?', config.id);
    const ids = Object.fromEntries(rows.map((r) => [r.id, r.participant_id]));
    const flags = await studySessionFlags(server.store, (await server.store.getStudy(config.id))!);
    expect(flags.get(good.session)).toEqual([]);
    const json = await adminGet(server, cookie, `/admin/studies/${config.id}/recognizability.json`, 'application/json');
    const result = JSON.parse(json.text);
    expect(result.exclusions.rules.flagged).toBe(true);
    expect(result.exclusions.counts.flagged).toBe(1);
    expect(result.exclusions.participants_included).toBe(1);
    expect(result.exclusions.excluded).toEqual([
      { participant_id: ids[bad.session], rule: 'flagged', detail: expect.stringMatching(/^fast_responses: .* \| stereotyped: /) },
    ]);
    const md = (await adminGet(server, cookie, `/admin/studies/${config.id}/recognizability.md`, 'text/markdown')).text;
    expect(md).toContain('| quality flags | on | 1 |');
  });
});
