/**
 * Needs PostgreSQL (runs in the api-postgres project only). Moving and keeping data: `metamer db
 * backup` of a SQLite database while its server takes trials, and `metamer db copy --to` into
 * PostgreSQL, after which `metamer analyze` and `metamer export` give byte-identical output.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSyntheticStudy } from '../analysis/synthetic-study.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';
import { createDatabase, dropDatabase } from '../support/postgres.ts';
import { withTestDatabase } from '../support/test-database.ts';
import { postJson, startTestServer, type TestServer } from '../support/test-server.ts';
import { answerTrials, completeParticipant, startParticipant } from './admin-participants.ts';

const run = promisify(execFile);
/** Each test runs the CLI several times (a few seconds each on a busy 2-core machine). */
const CLI_TESTS_MS = 300_000;
const ROOT = path.resolve(import.meta.dirname, '../..');

async function metamer(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, ['bin/metamer.js', ...args], {
      cwd: ROOT,
      env: { ...process.env, METAMER_DATABASE_URL: '', ...env },
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('a SQLite deployment with a completed study, backed up while serving and copied into PostgreSQL', () => {
  let server: TestServer;
  let url: string;
  beforeAll(async () => {
    server = await startTestServer({ store: 'sqlite' });
    for (let i = 0; i < 3; i++) await completeParticipant(server, `5f2c0000000000000000c00${i}`, 'fixture-study', (n) => n % 3 !== 1);
    const busy = await startParticipant(server, '5f2c0000000000000000b001');
    await answerTrials(server, busy.view, { to: 6 });
    url = await createDatabase(inject('postgresBase'), 'copy');
  });
  afterAll(async () => {
    await server?.dispose();
    if (url) await dropDatabase(url);
  });

  it(
    'backs up a consistent copy while trials keep arriving',
    async () => {
      const late = await startParticipant(server, '5f2c0000000000000000b002');
      const plan = (await server.store.getSession(late.view.session))!.plan.trials;
      // Trials posted during the backup: the copy holds a committed state, whole trials only.
      const posting = (async () => {
        for (let i = 0; i < plan.length; i++) {
          await postJson(`${server.url}/api/sessions/${late.view.session}/trials`, {
            trial_index: i,
            response: plan[i]!.category,
            rt_ms: 600,
          });
        }
      })();
      const file = path.join(server.dir, 'backup', 'metamer.db');
      const r = await metamer(['--db', server.dbFile, 'db', 'backup', file, '--json']);
      await posting;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { rows: Record<string, number> };
      const copy = new Database(file, { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(report.rows.trials).toBe(copy.prepare('SELECT count(*) FROM trials').pluck().get() as number);
        // Every session of the live database is there, with no trial it did not have.
        expect(copy.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(5);
        const live = await withTestDatabase(server.database, (db) => db.get<{ n: number }>('SELECT count(*) AS n FROM trials'));
        expect(report.rows.trials).toBeLessThanOrEqual(live!.n);
      } finally {
        copy.close();
      }
      // A second backup under the same name is refused; --force replaces it.
      const again = await metamer(['--db', server.dbFile, 'db', 'backup', file]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/exists; choose another name or pass --force/);
      expect((await metamer(['--db', server.dbFile, 'db', 'backup', file, '--force'])).code).toBe(0);
    },
    CLI_TESTS_MS,
  );

  it(
    'for PostgreSQL, backup points to pg_dump instead',
    async () => {
      const r = await metamer(['db', 'backup', path.join(server.dir, 'x.db')], { METAMER_DATABASE_URL: url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/pg_dump/);
    },
    CLI_TESTS_MS,
  );

  it(
    'copies every row, verifies every trial, and analyze and export give identical output on PostgreSQL',
    async () => {
      await server.close();
      const copied = await metamer(['--db', server.dbFile, 'db', 'copy', '--to', url, '--json']);
      expect(copied.stderr).toBe('');
      expect(copied.code).toBe(0);
      const report = JSON.parse(copied.stdout) as { rows: Record<string, number>; trials_verified: number };
      const sqlite = new Database(server.dbFile, { readonly: true });
      const trials = sqlite.prepare('SELECT count(*) FROM trials').pluck().get() as number;
      sqlite.close();
      expect(report.trials_verified).toBe(trials);
      expect(report.rows).toMatchObject({ trials, sessions: 5, studies: 1, stimulus_sets: 1 });
      await withTestDatabase(url, async (db) => {
        for (const [table, n] of Object.entries(report.rows))
          expect((await db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n, table).toBe(n);
      });

      const analyze = ['analyze', 'fixture-study', '--json', '--bootstrap', '500', '--seed', '3', '--no-progress'];
      const onSqlite = await metamer(['--db', server.dbFile, ...analyze]);
      const onPostgres = await metamer(['--db', server.dbFile, ...analyze], { METAMER_DATABASE_URL: url });
      expect(onSqlite.code).toBe(0);
      expect(JSON.parse(onSqlite.stdout)).toBeTruthy();
      expect(onPostgres.stdout).toBe(onSqlite.stdout);

      const out = (name: string) => path.join(server.dir, name);
      expect((await metamer(['--db', server.dbFile, 'export', 'fixture-study', '--format', 'csv', '--out', out('a')])).code).toBe(0);
      expect(
        (
          await metamer(['--db', server.dbFile, 'export', 'fixture-study', '--format', 'csv', '--out', out('b')], {
            METAMER_DATABASE_URL: url,
          })
        ).code,
      ).toBe(0);
      const csv = (dir: string) => fs.readFileSync(path.join(dir, 'fixture-study_trials.csv'), 'utf8');
      expect(csv(out('b'))).toBe(csv(out('a')));
      expect(csv(out('a')).split('\n').length).toBeGreaterThan(trials / 2);

      // Serving from the copy: a participant of the SQLite days resumes where they were.
      const resumed = await startTestServerOn(server, url);
      try {
        // The same submission (its SESSION_ID), as the participant's own study link carries it.
        const pid = '5f2c0000000000000000b001';
        const view = await postJson(`${resumed.url}/api/studies/fixture-study/sessions`, {
          prolific_pid: pid,
          prolific_study_id: 'st',
          prolific_session_id: `se-${pid}`,
        });
        expect(view.status).toBe(200);
        expect(view.body.answered).toEqual([0, 1, 2, 3, 4, 5]);
      } finally {
        await resumed.close();
      }
    },
    CLI_TESTS_MS,
  );

  it(
    'refuses to copy into a database that already has data, and changes nothing there',
    async () => {
      const r = await metamer(['--db', server.dbFile, 'db', 'copy', '--to', url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/already has rows in "[a-z_]+": db copy only fills an empty database/);
    },
    CLI_TESTS_MS,
  );
});

describe('analysis of a richer study (predictions, every session state) after a copy', () => {
  const tempDir = useTempDirs();
  it(
    'is identical on both databases, statistics and model comparisons included',
    async () => {
      const dir = await tempDir();
      const dbFile = path.join(dir, 'metamer.db');
      createSyntheticStudy(dbFile, {
        participants: 14,
        mainTrials: 21,
        abandoned: [1],
        screenedOut: [2],
        started: [3],
        predictions: true,
        preview: true,
        inattentive: [4],
      });
      const url = await createDatabase(inject('postgresBase'), 'synth');
      try {
        expect((await metamer(['--db', dbFile, 'db', 'copy', '--to', url])).code).toBe(0);
        const args = [
          'analyze',
          'synth',
          '--json',
          '--bootstrap',
          '400',
          '--permutations',
          '99',
          '--seed',
          '11',
          '--compare',
          'all',
          '--no-progress',
        ];
        const a = await metamer(['--db', dbFile, ...args]);
        const b = await metamer(['--db', dbFile, ...args], { METAMER_DATABASE_URL: url });
        expect(a.code).toBe(0);
        expect(b.stdout).toBe(a.stdout);
      } finally {
        await dropDatabase(url);
      }
    },
    CLI_TESTS_MS,
  );
});

/** A second server on the copied database, with the first one's data folder (keys, blobs). */
async function startTestServerOn(server: TestServer, url: string) {
  const { startServer } = await import('../../server/app.ts');
  const pino = (await import('pino')).default;
  return startServer({
    dbFile: server.dbFile,
    databaseUrl: url,
    blobDir: server.blobDir,
    participantKeyFile: path.join(server.dir, 'data', 'participant-id.key'),
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
  });
}
