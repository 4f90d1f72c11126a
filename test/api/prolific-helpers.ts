/**
 * For the Prolific loop's tests: participants who arrive from the stand-in's Prolific (a submission
 * there, a session here started with its PROLIFIC_PID and SESSION_ID), and `metamer` run as a
 * child process against the test server's database and the stand-in.
 */
import { execFile, type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { SessionView } from '../../experiment/contract.ts';
import { ProlificStandIn, STAND_IN_TOKEN, type StandInSubmission } from '../support/prolific-stand-in.ts';
import {
  backdateSession,
  COMPLETION_CODE,
  postJson,
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from '../support/test-server.ts';
import { answerTrials } from './admin-participants.ts';

const exec = promisify(execFile);
export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  /** Null when the process was killed. */
  code: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

export function prolificEnv(standIn: ProlificStandIn): Record<string, string> {
  return { PROLIFIC_API_TOKEN: STAND_IN_TOKEN, PROLIFIC_API_URL: standIn.url };
}

export async function metamer(server: TestServer, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = { ...process.env };
  delete base.PROLIFIC_API_TOKEN;
  delete base.PROLIFIC_API_URL;
  try {
    const r = await exec(process.execPath, ['bin/metamer.js', '--db', server.dbFile, ...args], {
      cwd: ROOT,
      env: { ...base, ...server.cliEnv, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number | null; signal: string | null; stdout: string; stderr: string };
    return { code: err.code, signal: err.signal, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Starts `metamer …` and returns the child, for tests that kill it. */
export function spawnMetamer(server: TestServer, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['bin/metamer.js', '--db', server.dbFile, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...server.cliEnv, ...env },
    stdio: 'pipe',
  });
}

export interface Arrival {
  submission: StandInSubmission;
  view: SessionView;
}

let nextPid = 1;
/** A 24-hex Prolific ID, unique within the test file. */
export function prolificPid(): string {
  return (nextPid++).toString(16).padStart(24, '5');
}

/** A participant takes a place on the stand-in's study and opens the study here. */
export async function arrive(
  server: TestServer,
  standIn: ProlificStandIn,
  prolificStudyId: string,
  studyId = 'fixture-study',
): Promise<Arrival> {
  const submission = standIn.addSubmission(prolificStudyId, prolificPid());
  const r = await postJson(`${server.url}/api/studies/${studyId}/sessions`, {
    prolific_pid: submission.participant_id,
    prolific_study_id: prolificStudyId,
    prolific_session_id: submission.id,
  });
  if (r.status !== 200) throw new Error(`start: ${r.status} ${JSON.stringify(r.body)}`);
  // These tests answer at full speed; pacing has its own tests.
  await backdateSession(server, r.body.session);
  return { submission, view: r.body as SessionView };
}

/** What the study's page measures of a trial shown as planned, in full view (experiment/trial-evidence.ts). */
const SHOWN_AS_PLANNED = { stimulus_frames: 6, stimulus_target_ms: 100, page_hidden: false, left_fullscreen: false, untrusted_events: 0 };

/**
 * Every planned trial, then completion; on the stand-in the participant enters the completion code.
 * `asThePage` sends what the study's page sends besides the answers (its page report, each trial's
 * measurements), so the session has no quality flag; without it the answers come bare, as from a
 * script, and the session is flagged for the missing measurements.
 */
export async function completeHere(server: TestServer, standIn: ProlificStandIn, a: Arrival, asThePage = false): Promise<void> {
  if (asThePage) {
    const r = await postJson(`${server.url}/api/sessions/${a.view.session}/page-report`, { webdriver: false, automation_globals: [] });
    if (r.status !== 200) throw new Error(`page report: ${r.status} ${JSON.stringify(r.body)}`);
  }
  await answerTrials(server, a.view, { evidence: asThePage ? SHOWN_AS_PLANNED : undefined });
  const done = await postJson(`${server.url}/api/sessions/${a.view.session}/complete`, {});
  if (done.status !== 200) throw new Error(`complete: ${done.status} ${JSON.stringify(done.body)}`);
  standIn.setStatus(a.submission.id, 'AWAITING REVIEW');
}

export async function participantIdOf(server: TestServer, a: Arrival): Promise<string> {
  return (await server.store.getSession(a.view.session))!.participant_id;
}

export interface LinkedStudy {
  server: TestServer;
  standIn: ProlificStandIn;
  /** The stand-in's study, linked to the server's `fixture-study`. */
  study: string;
  dispose(): Promise<void>;
}

/** A test server and the stand-in, with `fixture-study` linked to a stand-in study that lists its completion code. */
export async function startLinkedStudy(opts: TestServerOptions = {}): Promise<LinkedStudy> {
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  const server = await startTestServer(opts);
  const standIn = await ProlificStandIn.start();
  const study = standIn.addStudy([{ code: COMPLETION_CODE, code_type: 'COMPLETED' }]);
  await server.store.linkProlificStudy('fixture-study', study, Date.now());
  return {
    server,
    standIn,
    study,
    async dispose() {
      await standIn.close();
      await server.dispose();
    },
  };
}

/**
 * A test file's hooks around a linked study: started, then `setUp`, before its tests; the stand-in's
 * record of requests the reference does not document checked empty after each test; all closed at the end.
 */
export function useLinkedStudy(setUp: (l: LinkedStudy) => Promise<void>, opts: TestServerOptions = {}): void {
  let linked: LinkedStudy | undefined;
  beforeAll(async () => {
    linked = await startLinkedStudy(opts);
    await setUp(linked);
  });
  afterEach(() => {
    expect(linked!.standIn.violations).toEqual([]);
  });
  afterAll(async () => {
    await linked?.dispose();
  });
}
