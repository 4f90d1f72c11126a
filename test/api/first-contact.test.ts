/**
 * The server side of a participant's and an experimenter's first contact, against a real server:
 * the turn-away endpoint (counted once per pseudonymous participant, never the raw ID, the same
 * answer whatever happened, rate-limited), "try it" links (previews: no slot, not counted), the
 * ended pages with their codes, the run page's brief and CSP, `/` and the favicon, and
 * `metamer serve`'s printed "try it" link.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeStudyStatus, createStudy } from '../../server/studies.ts';
import { loadExportAt } from '../support/study-data.ts';
import { withTestDatabase } from '../support/test-database.ts';
import { psychDsDataset } from '../../analysis/psych-ds.ts';
import { COMPLETION_CODE, postJson, SCREENOUT_CODE, startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, answerTrials, completeParticipant, logIn, startParticipant } from './admin-participants.ts';

let counter = 0;
const newPid = () => `5f0c0ffee00000000000${String(++counter).padStart(4, '0')}`;

const turnAway = (server: TestServer, body: unknown, study = 'fixture-study') =>
  postJson(`${server.url}/api/studies/${study}/turn-aways`, body);

/** Rows of the server's database, whichever store it is (SQLite file or PostgreSQL). */
function rows<T = Record<string, unknown>>(server: TestServer, sql: string, ...args: unknown[]): Promise<T[]> {
  return withTestDatabase(server.database, (db) => db.all<T>(sql, ...args));
}

describe('turn-aways', () => {
  let server: TestServer;
  let cookie = '';
  beforeAll(async () => {
    server = await startTestServer();
    cookie = await logIn(server);
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const progress = async () =>
    JSON.parse((await adminGet(server, cookie, '/admin/api/studies/fixture-study', 'application/json')).text).progress;

  it('counts each participant once, keeps no Prolific ID, and answers the same whatever happened', async () => {
    const pid = newPid();
    const first = await turnAway(server, { prolific_pid: pid, reason: 'screen' });
    const again = await turnAway(server, { prolific_pid: pid, reason: 'device' });
    const preview = await turnAway(server, { prolific_pid: 'preview-abcdef', reason: 'screen' });
    for (const r of [first, again, preview]) expect([r.status, r.body]).toEqual([204, '']);

    const stored = await rows<{ participant_id: string; reason: string }>(server, 'SELECT participant_id, reason FROM turn_aways');
    expect(stored).toEqual([{ participant_id: expect.stringMatching(/^p[0-9a-f]{20}$/), reason: 'screen' }]);
    // Not a byte of the raw ID anywhere in the database (SQLite: the file, the WAL folded in).
    if (server.database === server.dbFile) {
      await withTestDatabase(server.database, (db) => db.run('PRAGMA wal_checkpoint(TRUNCATE)'));
      expect(fs.readFileSync(server.dbFile).includes(Buffer.from(pid))).toBe(false);
    }
    expect(await rows(server, 'SELECT study_id FROM sessions WHERE prolific_pid = ?', pid)).toEqual([]);

    const p = await progress();
    expect(p.turned_away).toEqual({ total: 1, by_reason: { screen: 1 }, came_back: 0 });
    // No session and no slot: the next participant gets slot 0.
    expect(p.sessions).toEqual({ started: 0, completed: 0, screened_out: 0, abandoned: 0 });
  });

  it('a turned-away participant who comes back on another device is shown as such', async () => {
    const pid = newPid();
    expect((await turnAway(server, { prolific_pid: pid, reason: 'device' })).status).toBe(204);
    const { status, view } = await startParticipant(server, pid);
    expect(status).toBe(200);
    const slot = (await server.store.getSession(view.session))!.slot;
    expect(slot).toBe(0);
    const p = await progress();
    expect(p.turned_away).toEqual({ total: 2, by_reason: { screen: 1, device: 1 }, came_back: 1 });
  });

  it('counts nothing for a study that is not live, says 404 for one that does not exist, 400 for a bad report', async () => {
    await changeStudyStatus(server.store, 'fixture-study', 'pause');
    server.sessions.forget();
    try {
      expect((await turnAway(server, { prolific_pid: newPid(), reason: 'audio' })).status).toBe(204);
      expect((await progress()).turned_away.total).toBe(2);
    } finally {
      await changeStudyStatus(server.store, 'fixture-study', 'launch');
      server.sessions.forget();
    }
    expect((await turnAway(server, { prolific_pid: newPid(), reason: 'audio' }, 'no-such-study')).status).toBe(404);
    for (const bad of [
      { prolific_pid: newPid(), reason: 'bored' },
      { prolific_pid: '<script>', reason: 'screen' },
      { prolific_pid: newPid(), reason: 'screen', extra: 1 },
      { reason: 'screen' },
      'not json',
    ]) {
      const r = await turnAway(server, bad);
      expect([JSON.stringify(bad), r.status]).toEqual([JSON.stringify(bad), 400]);
      // A body that is not JSON at all is refused by the JSON parser before the route.
      expect(r.body.code).toBe(typeof bad === 'string' ? 'entity.parse.failed' : 'invalid_turn_away');
    }
    expect((await progress()).turned_away.total).toBe(2);
  });
});

describe('turn-aways from one address are rate-limited', () => {
  let server: TestServer;
  const saved = process.env.METAMER_SESSION_STARTS_PER_MINUTE;
  beforeAll(async () => {
    process.env.METAMER_SESSION_STARTS_PER_MINUTE = '5';
    server = await startTestServer();
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.METAMER_SESSION_STARTS_PER_MINUTE;
    else process.env.METAMER_SESSION_STARTS_PER_MINUTE = saved;
    await server?.dispose();
  });

  it('a script inventing IDs adds at most the per-minute allowance', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await turnAway(server, { prolific_pid: newPid(), reason: 'screen' })).status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(5);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    expect((await server.store.turnAwayCounts('fixture-study')).total).toBe(5);
  });
});

describe('pages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ study: { title: 'Pictures </script><b>bold</b>' } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('the run page carries the study brief as inert JSON, and its CSP lets the page reach the exit host only', async () => {
    const res = await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${newPid()}`);
    const page = await res.text();
    const block = /<script type="application\/json" id="metamer-brief">([^<]*)<\/script>/.exec(page);
    expect(block, page).not.toBeNull();
    const brief = JSON.parse(block![1]!);
    expect(brief).toEqual({
      study: 'fixture-study',
      modality: 'image',
      title: 'Pictures </script><b>bold</b>',
      device: { devices: ['desktop', 'tablet'], min_screen_width: 640, min_screen_height: 480, pointer: 'any', audio_output: false },
      stereo: false,
      return_url: 'https://app.prolific.com/submissions',
      preview: false,
    });
    expect(page).not.toContain('<b>bold</b>');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/connect-src 'self' https:\/\/app\.prolific\.com(;|$)/);
    // Other pages keep the plain policy.
    const other = await fetch(`${server.url}/run/fixture-study`);
    expect(other.headers.get('content-security-policy')).toMatch(/connect-src 'self'(;|$)/);
  });

  it('a participant who already completed, or was screened out, sees the code again with a Copy button', async () => {
    const done = newPid();
    await completeParticipant(server, done);
    // The link of that submission (its SESSION_ID): a Prolific ID alone learns nothing (docs/integrity.md).
    const completed = await (await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${done}&SESSION_ID=se-${done}`)).text();
    expect(completed).toContain('You have already completed this study');
    expect(completed).toContain(`data-code="${COMPLETION_CODE}"`);
    expect(completed).toContain('data-copy="metamer-code-value"');
    expect(completed).toContain(`href="https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}"`);

    const out = newPid();
    const { view } = await startParticipant(server, out);
    await answerTrials(server, view, { correct: (_i, t) => t.phase !== 'screening' });
    const ended = await (await fetch(`${server.url}/run/fixture-study?PROLIFIC_PID=${out}&SESSION_ID=se-${out}`)).text();
    expect(ended).toContain('This study has ended for you');
    expect(ended).toContain(`data-code="${SCREENOUT_CODE}"`);
    expect(ended).not.toContain(COMPLETION_CODE);
  });

  it('/ goes to the dashboard; the favicon is served at both of its usual paths', async () => {
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/admin']);
    for (const p of ['/favicon.svg', '/favicon.ico']) {
      const r = await fetch(server.url + p);
      expect([p, r.status, r.headers.get('content-type')]).toEqual([p, 200, 'image/svg+xml; charset=utf-8']);
      expect(await r.text()).toMatch(/^<svg /);
    }
  });
});

describe('a study without a title', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('shows participants a neutral heading, and its dataset is named by the study id', async () => {
    const view = (await startParticipant(server, newPid())).view;
    expect(view.study.title).toBe('A study on recognising images');
    expect(view.study.question).toBe('What did the image show?');
    expect(view.study.consent).toContain('It takes place in your browser');
    const name = async (study: string) =>
      JSON.parse(psychDsDataset(await loadExportAt(server.database, study))['dataset_description.json']!).name;
    expect(await name('fixture-study')).toBe('fixture-study');
    // A study stored while the title defaulted to a placeholder is named by its id too.
    const config = {
      ...(await server.store.getStudy('fixture-study'))!.config,
      id: 'legacy-study',
      title: 'Recognising images and sounds',
    };
    await createStudy(server.store, config);
    expect(await name('legacy-study')).toBe('legacy-study');
  });
});

describe('"try it" links', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('start a preview each time they are opened: no slot, not counted, and a guessed link is a 404', async () => {
    const link = server.url + server.sessions.tryItPath('fixture-study');
    for (let i = 0; i < 2; i++) {
      const r = await fetch(link, { redirect: 'manual' });
      expect(r.status).toBe(303);
      expect(r.headers.get('location')).toMatch(
        /^\/run\/fixture-study\?PROLIFIC_PID=preview-[A-Za-z0-9_-]+&STUDY_ID=preview&SESSION_ID=preview$/,
      );
    }
    const sessions = await rows<{ preview: number }>(server, 'SELECT preview FROM sessions');
    expect(sessions).toEqual([{ preview: 1 }, { preview: 1 }]);
    // The first participant still gets the first Latin-square slot.
    const { view } = await startParticipant(server, newPid());
    expect((await server.store.getSession(view.session))!.slot).toBe(0);
    expect((await server.store.countSessions('fixture-study')).started).toBe(1);

    const token = link.split('/').pop()!;
    for (const bad of [`/try/fixture-study/${token.slice(0, -1)}x`, `/try/fixture-study/short`, `/try/other-study/${token}`]) {
      const r = await fetch(server.url + bad, { redirect: 'manual' });
      expect([bad, r.status]).toEqual([bad, 404]);
    }
    expect(await rows(server, 'SELECT id FROM sessions')).toHaveLength(3);
  });

  it('`metamer serve` prints one per live study, and it opens a preview', async () => {
    await server.close();
    const bin = path.resolve(import.meta.dirname, '../../bin/metamer.js');
    const { METAMER_PUBLIC_URL: _, ...env } = process.env;
    const proc = spawn(process.execPath, [bin, '--db', server.dbFile, 'serve', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, ...server.cliEnv },
    });
    try {
      const link = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /try it \(a preview, not counted\): (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        proc.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const before = (await rows(server, 'SELECT id FROM sessions WHERE preview = 1')).length;
      const r = await fetch(link, { redirect: 'manual' });
      expect(r.status).toBe(303);
      expect(await rows(server, 'SELECT id FROM sessions WHERE preview = 1')).toHaveLength(before + 1);
    } finally {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
