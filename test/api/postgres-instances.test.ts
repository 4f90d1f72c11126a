/**
 * Needs PostgreSQL (runs in the api-postgres project only). Two server instances on one database
 * and one data folder, each with its own process state (study cache, plan cache, rate limits):
 * what one instance does, the other sees, and what must happen once happens once.
 */
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { changeStudyStatus } from '../../server/studies.ts';
import { postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { adminGet, logIn, startParticipant } from './admin-participants.ts';

let a: TestServer;
let b: RunningServer;

/** The second instance as the test helpers take a server (its database is the first one's). */
const second = () => ({ ...b, database: a.database }) as unknown as TestServer;

function secondInstance(first: TestServer, participantKeyFile = path.join(first.dir, 'data', 'participant-id.key')) {
  return startServer({
    dbFile: first.dbFile,
    databaseUrl: first.database,
    blobDir: first.blobDir,
    participantKeyFile,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
  });
}

beforeAll(async () => {
  a = await startTestServer({ store: 'postgres', study: { target_completed: 100 } });
  b = await secondInstance(a);
});
afterAll(async () => {
  await b?.close();
  await a?.dispose();
});

describe('two instances on one PostgreSQL database', () => {
  it('50 concurrent session starts spread over both get 50 distinct slots, the lowest ones, balanced over the square', async () => {
    const starts = Array.from({ length: 50 }, (_, i) =>
      // 25 per instance: within each instance's own rate limit of 30 starts a minute per address.
      postJson(`${(i % 2 ? b : a).url}/api/studies/fixture-study/sessions`, {
        prolific_pid: `5f3a00000000000000000${String(i).padStart(3, '0')}`,
      }),
    );
    const views = await Promise.all(starts);
    expect(views.map((v) => v.status)).toEqual(Array(50).fill(200));
    const slots = await Promise.all(views.map(async (v) => (await a.store.getSession(v.body.session))!.slot));
    expect([...slots].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Four conditions: the square's rows are slot mod 4, each 12 or 13 times.
    const rows = [0, 1, 2, 3].map((r) => slots.filter((s) => s % 4 === r).length);
    expect(Math.max(...rows) - Math.min(...rows)).toBeLessThanOrEqual(1);
  });

  it('one participant starting on both at once gets one session', async () => {
    const pid = '5f3b000000000000000000aa';
    const [x, y] = await Promise.all([startParticipant(a, pid), startParticipant(second(), pid)]);
    expect(x.status).toBe(200);
    expect(y.status).toBe(200);
    expect(y.view.session).toBe(x.view.session);
  });

  it('a trial saved through one instance is a duplicate when replayed through the other, and a changed one is refused', async () => {
    const { view } = await startParticipant(a, '5f3b000000000000000000ab');
    const plan = (await a.store.getSession(view.session))!.plan.trials;
    const record = { trial_index: 0, response: plan[0]!.category, rt_ms: 812 };
    const first = await postJson(`${a.url}/api/sessions/${view.session}/trials`, record);
    const replay = await postJson(`${b.url}/api/sessions/${view.session}/trials`, record);
    const changed = await postJson(`${b.url}/api/sessions/${view.session}/trials`, { ...record, rt_ms: 999 });
    expect([first.status, replay.status, changed.status]).toEqual([200, 200, 409]);
    expect(first.body).toMatchObject({ stored: 'created' });
    expect(replay.body).toMatchObject({ stored: 'duplicate' });
    const stored = await a.store.trialsOfSession(view.session);
    expect(stored.map((t) => t.rt_ms)).toEqual([812]);
  });

  it('a log-in made on one instance works on the other, and a log-out on either ends it on both', async () => {
    const cookie = await logIn(a);
    expect((await adminGet(second(), cookie, '/admin')).status).toBe(200);
    await fetch(`${b.url}/admin/logout`, { method: 'POST', headers: { Cookie: cookie }, redirect: 'manual' });
    expect((await adminGet(a, cookie, '/admin')).status).toBe(401);
  });

  it('a study paused through one instance takes no newcomers on the other', async () => {
    await changeStudyStatus(a.store, 'fixture-study', 'pause');
    try {
      const r = await startParticipant(second(), '5f3b000000000000000000ac');
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('not_live');
    } finally {
      await changeStudyStatus(a.store, 'fixture-study', 'launch');
    }
    expect((await startParticipant(second(), '5f3b000000000000000000ac')).status).toBe(200);
  });

  it('a job (the abandonment sweep) runs on one instance at a time', async () => {
    let inner: boolean | undefined;
    const ran = await a.store.runExclusive('abandonment-sweep', async () => {
      inner = await b.store.runExclusive('abandonment-sweep', async () => {});
    });
    expect(ran).toBe(true);
    expect(inner).toBe(false);
    // Released afterwards: the other instance gets its turn.
    expect(await b.store.runExclusive('abandonment-sweep', async () => {})).toBe(true);
  });

  it('an instance with another participant-id key refuses to start', async () => {
    const other = path.join(a.dir, 'other', 'participant-id.key');
    await expect(secondInstance(a, other)).rejects.toThrow(
      /participant-id key is not the one .* was first served with: set METAMER_PARTICIPANT_KEY/,
    );
  });
});
