/**
 * A real server for tests: a temporary data folder with a real SQLite file, a fixture stimulus set
 * imported through the real importer, a study created and launched, and the server listening on a
 * random port of 127.0.0.1.
 *
 * The store matrix: with METAMER_TEST_STORE=postgres (the `api-postgres` vitest project) the
 * server uses a fresh database of its own on the run's throwaway PostgreSQL cluster
 * (postgres-global-setup.ts) instead of the SQLite file; the data folder (blobs, keys) is the same.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { inject } from 'vitest';
import { startServer, type RunningServer } from '../../server/app.ts';
import { changeStudyStatus, createStudy } from '../../server/studies.ts';
import type { StudyConfigInput } from '../../server/study-config.ts';
import { BlobStore } from '../../stimuli/blob-store.ts';
import { importStimulusSet } from '../../stimuli/import.ts';
import { makeAudioSet, makeImageSet, type AudioSetOptions, type ImageSetOptions } from '../fixtures/stimulus-sets.ts';
import { createDatabase, dropDatabase } from './postgres.ts';
import { openTestDatabase, type TestDatabase, withTestDatabase } from './test-database.ts';

export interface TestServer extends RunningServer {
  dir: string;
  /** The SQLite file (on PostgreSQL: only the anchor of the data folder, as `--db` is for the CLI). */
  dbFile: string;
  blobDir: string;
  /** The database in use: the SQLite file, or the PostgreSQL URL. */
  database: string;
  /** Environment for a `metamer` CLI process on this server's data (`--db dbFile` as well). */
  cliEnv: Record<string, string>;
  /** Direct SQL on the server's database (close it when done). */
  openDb(): Promise<TestDatabase>;
  /** Stops the server and deletes the folder. */
  dispose(): Promise<void>;
  /** Starts a fresh server on the same data folder (after close or a crash). */
  restart(): Promise<TestServer>;
}

export interface TestServerOptions {
  modality?: 'image' | 'audio';
  set?: ImageSetOptions & AudioSetOptions;
  study?: Partial<StudyConfigInput>;
  /** Leave the study a draft. */
  launch?: boolean;
  /** Where the server logs (default: nowhere). */
  logger?: Logger;
  /** The store, whatever the project's (default: testStore()). */
  store?: 'sqlite' | 'postgres';
  /** An existing PostgreSQL database to use (a test that runs its own cluster); not dropped. */
  databaseUrl?: string;
}

/** Which store this test run uses: `postgres` in the API suite's PostgreSQL project. */
export function testStore(): 'sqlite' | 'postgres' {
  return process.env.METAMER_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
}

/** A database for one test server: a fresh PostgreSQL database in the PostgreSQL project, else the file. */
export async function testDatabase(dbFile: string, store = testStore()): Promise<string> {
  return store === 'postgres' ? createDatabase(inject('postgresBase')) : dbFile;
}

export const COMPLETION_CODE = 'C0MPLETE';
export const SCREENOUT_CODE = 'SCR33N0UT';

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metamer-test-'));
  const modality = opts.modality ?? 'image';
  const setDir = path.join(dir, 'set');
  if (modality === 'image') await makeImageSet(setDir, { practicePerCategory: 2, ...opts.set });
  else await makeAudioSet(setDir, { practicePerCategory: 2, ...opts.set });
  const dbFile = path.join(dir, 'data', 'metamer.db');
  const blobDir = path.join(dir, 'data', 'blobs');
  const database = opts.databaseUrl ?? (await testDatabase(dbFile, opts.store));
  const postgres = database !== dbFile;
  const boot = async (): Promise<TestServer> => {
    const server = await startServer({
      dbFile,
      databaseUrl: postgres ? database : undefined,
      blobDir,
      participantKeyFile: path.join(dir, 'data', 'participant-id.key'),
      port: 0,
      host: '127.0.0.1',
      logger: opts.logger ?? pino({ level: 'silent' }),
    });
    return {
      ...server,
      dir,
      dbFile,
      blobDir,
      database,
      cliEnv: postgres ? { METAMER_DATABASE_URL: database } : {},
      openDb: () => openTestDatabase(database),
      async dispose() {
        await server.close().catch(() => {});
        if (postgres && !opts.databaseUrl) await dropDatabase(database).catch(() => {});
        await fs.rm(dir, { recursive: true, force: true });
      },
      async restart() {
        return boot();
      },
    };
  };
  const server = await boot();
  const { manifest } = await importStimulusSet(setDir, { name: 'fixture', blobs: new BlobStore(blobDir) });
  await server.store.saveStimulusSet(manifest);
  const study = await createStudy(server.store, {
    id: 'fixture-study',
    stimulus_set: 'fixture',
    modality,
    prolific: { completion_code: COMPLETION_CODE, screenout_code: SCREENOUT_CODE },
    target_completed: 20,
    protocol: { practice_trials: 2, slow_practice_trials: 1, screening_trials: 3, screening_min_correct: 2, catch_trials: 1 },
    timing: modality === 'image' ? { blank_ms: 100, fixation_ms: 100, stimulus_ms: 100, practice_stimulus_ms: 150, mask_ms: 100 } : {},
    ...opts.study,
  } as StudyConfigInput);
  if (opts.launch !== false) await changeStudyStatus(server.store, study.id, 'launch');
  return server;
}

/** A Prolific-shaped ID (24 hex characters) named by a label, the same for the same label. */
export function pidOf(label: string): string {
  return createHash('sha256').update(label).digest('hex').slice(0, 24);
}

/**
 * Moves a session's start back (default an hour): for tests that answer at full speed and are
 * not about pacing. The server then sees every trial as late, which it always takes (pacing.ts).
 */
export async function backdateSession(server: Pick<TestServer, 'database'>, sessionId: string, ms = 3_600_000): Promise<void> {
  await withTestDatabase(server.database, (db) => db.run('UPDATE sessions SET started_at = started_at - ? WHERE id = ?', ms, sessionId));
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}
