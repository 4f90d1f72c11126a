/**
 * The Prolific loop end to end, against the local stand-in of Prolific's API (never Prolific
 * itself): `metamer prolific link|sync|approve|reject` as child processes on a running server's
 * database, with participants who arrive from the stand-in's study and play through the real
 * participant API. Every request the commands send is checked by the stand-in against the
 * reference; each test ends with no undocumented request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProlificStandIn } from '../support/prolific-stand-in.ts';
import { backdateSession, COMPLETION_CODE, postJson, SCREENOUT_CODE, startTestServer, type TestServer } from '../support/test-server.ts';
import { answerTrials } from './admin-participants.ts';
import { type Arrival, arrive, completeHere, metamer, participantIdOf, prolificEnv, prolificPid } from './prolific-helpers.ts';

// Each `metamer` child process starts tsx; on a busy shared machine that takes seconds.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

let server: TestServer;
let standIn: ProlificStandIn;
let prolificStudy: string;
const REASON =
  'Your submission reached our server without any of the experiment’s trials, so there is no data to pay for. ' +
  'Please contact us if this is wrong.';

beforeAll(async () => {
  delete process.env.PROLIFIC_API_TOKEN;
  process.env.METAMER_ABANDON_SWEEP_MS = String(24 * 3_600_000);
  server = await startTestServer();
  standIn = await ProlificStandIn.start();
  prolificStudy = standIn.addStudy([
    { code: COMPLETION_CODE, code_type: 'COMPLETED' },
    { code: SCREENOUT_CODE, code_type: 'SCREENED_OUT' },
  ]);
});
afterAll(async () => {
  await standIn?.close();
  await server?.dispose();
});
afterEach(() => {
  expect(standIn.violations).toEqual([]);
});

const sync = async () => {
  const r = await metamer(server, ['prolific', 'sync', 'fixture-study', '--json'], prolificEnv(standIn));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('without PROLIFIC_API_TOKEN', () => {
  it('the Prolific commands say in one line what to set, and everything else works as before', async () => {
    for (const args of [
      ['sync', 'fixture-study'],
      ['link', 'fixture-study', 'abc'],
      ['approve', 'fixture-study', '--all-unflagged'],
      ['reject', 'fixture-study', 'p0', '--category', 'NO_DATA', '--message', REASON],
      ['return', 'fixture-study', 'p0', '--reason', 'the study page could not load'],
      ['bonus', 'fixture-study', '--csv', 'bonuses.csv'],
      ['webhook', 'workspace-0', '--url', 'https://example.org/api/prolific/webhook'],
    ]) {
      const r = await metamer(server, ['prolific', ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr, args[0]).toContain('set PROLIFIC_API_TOKEN');
    }
    expect(standIn.requests).toEqual([]);
    const status = await metamer(server, ['study', 'status', 'fixture-study']);
    expect(status.code).toBe(0);
    const webhook = await postJson(`${server.url}/api/prolific/webhook`, { event_type: 'submission.status.change' });
    expect(webhook.status).toBe(404);
    expect(webhook.body.code).toBe('not_configured');
  });
});

describe('metamer prolific link', () => {
  it('checks the Prolific study and its completion codes before linking', async () => {
    const unknown = await metamer(server, ['prolific', 'link', 'fixture-study', '0123456789abcdef01234567'], prolificEnv(standIn));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Prolific answered 404 to GET /api/v1/studies/{id}/');
    expect(await server.store.prolificLink('fixture-study')).toBeUndefined();

    const codeless = standIn.addStudy([{ code: 'OTHER', code_type: 'COMPLETED' }]);
    const warned = await metamer(server, ['prolific', 'link', 'fixture-study', codeless], prolificEnv(standIn));
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain(`no completion code ${COMPLETION_CODE} (this study's completion code)`);
    expect(warned.stdout).toContain(`no completion code ${SCREENOUT_CODE} (this study's screen-out code)`);

    const r = await metamer(server, ['prolific', 'link', 'fixture-study', prolificStudy, '--json'], prolificEnv(standIn));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).codes_missing_on_prolific).toEqual([]);
    expect((await server.store.prolificLink('fixture-study'))!.prolific_study_id).toBe(prolificStudy);
  });
});

describe('metamer prolific sync', () => {
  let awaiting: Arrival;
  let approved: Arrival;
  let returned: Arrival;
  let timedOut: Arrival;
  let noSubmission: Arrival;
  let claimed: Arrival;

  beforeAll(async () => {
    awaiting = await arrive(server, standIn, prolificStudy);
    await completeHere(server, standIn, awaiting);
    approved = await arrive(server, standIn, prolificStudy);
    await completeHere(server, standIn, approved);
    standIn.setStatus(approved.submission.id, 'APPROVED');
    returned = await arrive(server, standIn, prolificStudy);
    await answerTrials(server, returned.view, { to: 2 });
    standIn.setStatus(returned.submission.id, 'RETURNED');
    timedOut = await arrive(server, standIn, prolificStudy);
    standIn.setStatus(timedOut.submission.id, 'TIMED-OUT');
    claimed = await arrive(server, standIn, prolificStudy);
    standIn.setStatus(claimed.submission.id, 'AWAITING REVIEW');
    // Completed here, but Prolific never heard of it (a test link, another Prolific account…).
    const r = await postJson(`${server.url}/api/studies/fixture-study/sessions`, {
      prolific_pid: prolificPid(),
      prolific_session_id: 'not-on-prolific',
    });
    noSubmission = { submission: { id: 'not-on-prolific' } as Arrival['submission'], view: r.body };
    await backdateSession(server, r.body.session);
    await answerTrials(server, noSubmission.view);
    expect((await postJson(`${server.url}/api/sessions/${noSubmission.view.session}/complete`, {})).status).toBe(200);
    // On Prolific, no session here: one claims completion, one has not opened the link yet.
    standIn.setStatus(standIn.addSubmission(prolificStudy, prolificPid()).id, 'AWAITING REVIEW');
    standIn.addSubmission(prolificStudy, prolificPid());
  });

  it('releases returned and timed-out sessions, lists what awaits review and every mismatch both ways', async () => {
    const before = await server.store.countSessions('fixture-study');
    const out = await sync();
    expect(out.listed).toBe(7);
    expect(out.status_counts).toEqual({ 'AWAITING REVIEW': 3, APPROVED: 1, RETURNED: 1, 'TIMED-OUT': 1, ACTIVE: 1 });
    expect(out.released_now.map((x: { participant_id: string; reason: string }) => [x.participant_id, x.reason]).sort()).toEqual(
      [
        [await participantIdOf(server, returned), 'prolific_returned'],
        [await participantIdOf(server, timedOut), 'prolific_timed_out'],
      ].sort(),
    );
    for (const a of [returned, timedOut]) {
      const s = (await server.store.prolificSessions('fixture-study')).find((x) => x.id === a.view.session)!;
      expect([s.state, s.abandon_reason]).toEqual(['abandoned', a === returned ? 'prolific_returned' : 'prolific_timed_out']);
    }
    const after = await server.store.countSessions('fixture-study');
    expect(after.abandoned - before.abandoned).toBe(2);
    expect(after.started).toBe(before.started - 2);

    expect(out.review.map((r: { participant_id: string }) => r.participant_id)).toEqual([await participantIdOf(server, awaiting)]);
    // Its answers came bare, without the page's measurements: the evidence module flags it.
    expect(out.review[0].flags.map((f: { code: string }) => f.code)).toEqual(['missing_measurements']);
    expect(out.approved).toBe(1);
    expect(out.mismatches.completed_without_submission.map((r: { participant_id: string }) => r.participant_id)).toEqual([
      await participantIdOf(server, noSubmission),
    ]);
    expect(out.mismatches.claimed_without_completing.map((r: { participant_id: string }) => r.participant_id)).toEqual([
      await participantIdOf(server, claimed),
    ]);
    expect(out.mismatches.submissions_without_session).toHaveLength(1);
    expect(out.mismatches.submissions_without_session[0].prolific_status).toBe('AWAITING REVIEW');
    expect(out.not_started_here).toBe(1);
    // Pseudonymous output: no Prolific ID or submission id anywhere in it.
    for (const s of standIn.submissions.values()) {
      expect(JSON.stringify(out)).not.toContain(s.participant_id);
      expect(JSON.stringify(out)).not.toContain(s.id);
    }

    const again = await sync();
    expect(again.released_now).toEqual([]);
    expect(again.status_counts).toEqual(out.status_counts);

    const text = await metamer(server, ['prolific', 'sync', 'fixture-study'], prolificEnv(standIn));
    expect(text.stdout).toContain('completed here, no submission on Prolific: 1');
    expect(text.stdout).toContain('on Prolific, no session here');
  });

  it('a returned participant’s slot goes to the next participant at once; their late trial is kept, the slot is not', async () => {
    const a = await arrive(server, standIn, prolificStudy);
    const slotA = (await server.store.getSession(a.view.session))!.slot;
    standIn.setStatus(a.submission.id, 'RETURNED');
    expect((await sync()).released_now).toHaveLength(1);
    const next = await arrive(server, standIn, prolificStudy);
    expect((await server.store.getSession(next.view.session))!.slot).toBe(slotA);

    // The returned participant's tab is still open and sends a trial: stored, session stays released.
    const late = await postJson(`${server.url}/api/sessions/${a.view.session}/trials`, {
      trial_index: 0,
      response: a.view.choices[0],
      rt_ms: 800,
    });
    expect(late.status).toBe(200);
    expect(await server.store.answeredIndices(a.view.session)).toEqual([0]);
    const s = await server.store.getSession(a.view.session);
    expect(s!.state).toBe('abandoned');
  });

  describe('metamer prolific approve', () => {
    /** Completed here as the study's page would send it: no quality flag. */
    let careful: Arrival;
    beforeAll(async () => {
      careful = await arrive(server, standIn, prolificStudy);
      await completeHere(server, standIn, careful, true);
    });

    it('a dry run shows what would be approved and changes nothing on Prolific', async () => {
      const who = await participantIdOf(server, awaiting);
      const r = await metamer(server, ['prolific', 'approve', 'fixture-study', who, '--dry-run', '--json'], prolificEnv(standIn));
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).approved.map((c: { participant_id: string }) => c.participant_id)).toEqual([who]);
      expect(standIn.submissions.get(awaiting.submission.id)!.status).toBe('AWAITING REVIEW');
      expect(standIn.requests.filter((q) => q.path.endsWith('/transition/'))).toEqual([]);
    });

    it('never approves a session that did not complete here, nor one Prolific already ended', async () => {
      for (const a of [claimed, returned]) {
        const r = await metamer(server, ['prolific', 'approve', 'fixture-study', await participantIdOf(server, a)], prolificEnv(standIn));
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(
          a === claimed ? 'the session did not complete here (started)' : 'the session did not complete here (abandoned)',
        );
      }
      expect(standIn.submissions.get(claimed.submission.id)!.status).toBe('AWAITING REVIEW');
      expect(standIn.requests.filter((q) => q.path.endsWith('/transition/'))).toEqual([]);
    });

    it('--all-unflagged chooses the sessions without a quality flag and leaves the flagged one with its reasons', async () => {
      const r = await metamer(
        server,
        ['prolific', 'approve', 'fixture-study', '--all-unflagged', '--dry-run', '--json'],
        prolificEnv(standIn),
      );
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.approved).toEqual([{ participant_id: await participantIdOf(server, careful), flags: [] }]);
      expect(out.left.map((c: { participant_id: string }) => c.participant_id)).toEqual([await participantIdOf(server, awaiting)]);
      expect(out.left[0].flags.map((f: { code: string }) => f.code)).toEqual(['missing_measurements']);
      const text = await metamer(server, ['prolific', 'approve', 'fixture-study', '--all-unflagged', '--dry-run'], prolificEnv(standIn));
      expect(text.stdout).toContain(`${await participantIdOf(server, awaiting)}  missing_measurements (`);
      const none = await metamer(server, ['prolific', 'approve', 'fixture-study'], prolificEnv(standIn));
      expect(none.code).toBe(2);
      expect(standIn.requests.filter((q) => q.path.endsWith('/transition/'))).toEqual([]);
    });

    it('approves a named session on Prolific, flagged or not, and then every unflagged one', async () => {
      const who = await participantIdOf(server, awaiting);
      const r = await metamer(server, ['prolific', 'approve', 'fixture-study', who], prolificEnv(standIn));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`approved 1:\n  ${who}`);
      expect(standIn.submissions.get(awaiting.submission.id)!.status).toBe('APPROVED');
      expect(standIn.submissions.get(careful.submission.id)!.status).toBe('AWAITING REVIEW');
      const stored = (await server.store.prolificSubmissions('fixture-study')).find((s) => s.submission_id === awaiting.submission.id)!;
      expect(stored.status).toBe('APPROVED');

      const all = await metamer(server, ['prolific', 'approve', 'fixture-study', '--all-unflagged'], prolificEnv(standIn));
      expect(all.code).toBe(0);
      expect(all.stdout).toContain(`approved 1:\n  ${await participantIdOf(server, careful)}`);
      expect(standIn.submissions.get(careful.submission.id)!.status).toBe('APPROVED');
      expect((await sync()).approved).toBe(3);
    });
  });

  describe('metamer prolific reject', () => {
    it('refuses without a reason of Prolific’s length before anything is sent', async () => {
      const before = standIn.requests.length;
      const r = await metamer(
        server,
        ['prolific', 'reject', 'fixture-study', await participantIdOf(server, claimed), '--category', 'NO_DATA', '--message', 'no data'],
        prolificEnv(standIn),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('--message must be at least 100 characters');
      expect(standIn.requests.length).toBe(before);
    });

    it('rejects one named submission with the category and message given', async () => {
      const r = await metamer(
        server,
        ['prolific', 'reject', 'fixture-study', await participantIdOf(server, claimed), '--category', 'NO_DATA', '--message', REASON],
        prolificEnv(standIn),
      );
      expect(r.code).toBe(0);
      expect(standIn.submissions.get(claimed.submission.id)!.status).toBe('REJECTED');
      // The session here never completed: Prolific's rejection releases it like a return.
      const s = (await server.store.prolificSessions('fixture-study')).find((x) => x.id === claimed.view.session)!;
      expect(s.abandon_reason).toBe('prolific_rejected');
    });
  });
});
