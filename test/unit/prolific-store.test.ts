/**
 * The Prolific loop's storage on a real SQLite file: migration 6 on a database that already has
 * abandoned sessions, the abandonment reason's effect on late trials, newest-status-wins, webhook
 * events applied once (atomically), and the bonus ledger's one-bonus-per-batch and compare-and-set.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';

const tempDir = useTempDirs();
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A database at schema 3 (before the Prolific loop) with one study and sessions in the given states. */
async function oldDatabase(states: string[]): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, 'm.db');
  const db = new Database(file);
  for (let v = 0; v < 3; v++) db.exec(MIGRATIONS[v]!);
  db.pragma('user_version = 3');
  db.prepare("INSERT INTO stimulus_sets VALUES ('set', 'image', 'd', '{}', 0)").run();
  db.prepare("INSERT INTO studies VALUES ('st', 'set', '{}', 'live', 0, 0)").run();
  states.forEach((state, i) => {
    db.prepare(
      `INSERT INTO sessions (id, study_id, prolific_pid, participant_id, prolific_session_id, slot, state, n_trials, started_at, last_activity_at)
       VALUES (?, 'st', ?, ?, ?, ?, ?, 10, 0, 0)`,
    ).run(`tok${i}`, `pid${i}`, `p${i}`, `sub${i}`, i, state);
    db.prepare('INSERT INTO session_plans VALUES (?, ?)').run(`tok${i}`, '{"trials": []}');
  });
  db.close();
  return file;
}

function open(file: string): SqliteStore {
  const s = new SqliteStore(file);
  stores.push(s);
  return s;
}

const trial = (session: string, index: number, at: number) => ({
  session_id: session,
  trial_index: index,
  phase: 'main',
  stimulus_id: 's',
  source_id: 'src',
  category: 'cat',
  model: '',
  layer: 'natural',
  layer_index: 0,
  response: 'cat',
  correct: 1 as const,
  rt_ms: 500,
  data: `{"i":${index}}`,
  received_at: at,
});

const state = async (s: SqliteStore, id: string) => {
  const row = (await s.prolificSessions('st')).find((x) => x.id === id)!;
  return [row.state, row.abandon_reason];
};

describe('sessions and Prolific', () => {
  it('migration 6 marks sessions already abandoned as idle, and a late trial still revives them', async () => {
    const s = open(await oldDatabase(['abandoned', 'started']));
    expect(await state(s, 'tok0')).toEqual(['abandoned', 'idle']);
    expect(await state(s, 'tok1')).toEqual(['started', null]);
    await s.saveTrial(trial('tok0', 0, Date.now()));
    expect(await state(s, 'tok0')).toEqual(['started', null]);
  });

  it('a session Prolific ended keeps its late trials but not its slot; completed sessions are never released', async () => {
    const s = open(await oldDatabase(['started', 'completed', 'abandoned']));
    expect(await s.abandonSessionForProlific('tok0', 'prolific_returned')).toBe(true);
    expect(await s.abandonSessionForProlific('tok0', 'prolific_returned')).toBe(false);
    expect(await s.abandonSessionForProlific('tok1', 'prolific_timed_out')).toBe(false);
    // Idle-abandoned: the reason becomes Prolific's, so a late trial no longer revives it.
    expect(await s.abandonSessionForProlific('tok2', 'prolific_timed_out')).toBe(true);
    for (const id of ['tok0', 'tok2']) {
      expect(await s.saveTrial(trial(id, 0, Date.now()))).toBe('created');
      expect((await state(s, id))[0]).toBe('abandoned');
    }
    expect(await s.answeredIndices('tok0')).toEqual([0]);
    expect(await state(s, 'tok1')).toEqual(['completed', null]);
    // The slot is free for the next participant: only started and completed sessions hold one.
    expect((await s.countSessions('st')).abandoned).toBe(2);
  });

  it('keeps the newest status, and applies a webhook event once even when a retry carries another status', async () => {
    const s = open(await oldDatabase(['started']));
    await s.linkProlificStudy('st', 'PROLIFICSTUDY', 1);
    const row = {
      submission_id: 'sub0',
      study_id: 'st',
      prolific_pid: 'pid0',
      status: 'AWAITING REVIEW',
      status_at: 2000,
      started_at: null,
      completed_at: null,
    };
    expect(await s.recordProlificSubmission(row)).toBe('applied');
    expect(await s.recordProlificSubmission({ ...row, status: 'ACTIVE', status_at: 1000 })).toBe('stale');
    expect(await s.locateProlificSubmission('sub0', 'whoever')).toBe('st');

    const e = { event_id: 'evt1', signature_hash: 'h1', received_at: Date.now() };
    expect(await s.applyWebhookEvent(e, { ...row, status: 'APPROVED', status_at: 3000 })).toBe('applied');
    expect(await s.applyWebhookEvent(e, { ...row, status: 'REJECTED', status_at: 4000 })).toBe('duplicate');
    expect(await s.applyWebhookEvent({ ...e, event_id: 'evt2' }, { ...row, status: 'REJECTED', status_at: 4000 })).toBe('duplicate');
    expect((await s.prolificSubmissions('st'))[0]!.status).toBe('APPROVED');
  });

  it('refuses to link one Prolific study to two studies', async () => {
    const s = open(await oldDatabase([]));
    s.db.prepare("INSERT INTO studies VALUES ('other', 'set', '{}', 'live', 0, 0)").run();
    await s.linkProlificStudy('st', 'PROLIFICSTUDY', 1);
    await expect(s.linkProlificStudy('other', 'PROLIFICSTUDY', 2)).rejects.toThrow('already linked to study "st"');
  });
});

describe('the bonus ledger', () => {
  it('holds one bonus per participant and batch, and lets only one caller move a run', async () => {
    const s = open(await oldDatabase(['completed', 'completed']));
    const run = await s.createBonusRun('st', 'b1', [{ session_id: 'tok0', submission_id: 'sub0', amount_cents: 100 }], 1);
    expect(run.state).toBe('intent');
    await expect(
      s.createBonusRun(
        'st',
        'b1',
        [
          { session_id: 'tok1', submission_id: 'sub1', amount_cents: 100 },
          { session_id: 'tok0', submission_id: 'sub0', amount_cents: 100 },
        ],
        2,
      ),
    ).rejects.toThrow('another run is recording bonuses of batch "b1"');
    // The refused run left nothing behind, not even its first item.
    expect((await s.bonusItems('st', 'b1')).map((i) => i.session_id)).toEqual(['tok0']);
    expect(await s.bonusRuns('st')).toHaveLength(1);
    // Another batch may pay the same participant again.
    await s.createBonusRun('st', 'b2', [{ session_id: 'tok0', submission_id: 'sub0', amount_cents: 100 }], 3);

    expect(await s.advanceBonusRun(run.id, 'intent', 'set_up', 4, 'SETUP1')).toBe(true);
    expect(await s.advanceBonusRun(run.id, 'set_up', 'paying', 5)).toBe(true);
    expect(await s.advanceBonusRun(run.id, 'set_up', 'paying', 6)).toBe(false);
    expect((await s.bonusRuns('st'))[0]).toMatchObject({ state: 'paying', setup_id: 'SETUP1' });
  });
});
