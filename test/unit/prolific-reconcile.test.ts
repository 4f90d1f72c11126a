/**
 * The Prolific loop's pure parts: matching submissions to sessions, Prolific's webhook signature,
 * the bonus file and Prolific's `csv_bonuses` lines.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { csvBonuses } from '../../server/prolific/bonus-ledger.ts';
import { parseBonusCsv } from '../../server/prolific/bonus-csv.ts';
import { reconcile } from '../../server/prolific/reconcile.ts';
import { chooseApprovals } from '../../server/prolific/review.ts';
import { normaliseStatus } from '../../server/prolific/submission-status.ts';
import { pythonJsonDumps, verifyProlificRequest } from '../../server/prolific/webhook-signature.ts';
import type { ProlificSessionRow, ProlificSubmissionRow } from '../../server/store/prolific-store.ts';

let n = 0;
function session(state: ProlificSessionRow['state'], extra: Partial<ProlificSessionRow> = {}): ProlificSessionRow {
  n++;
  return {
    id: `tok${n}`,
    participant_id: `p${String(n).padStart(20, '0')}`,
    prolific_pid: `pid${n}`,
    prolific_session_id: `sub${n}`,
    slot: n,
    state,
    abandon_reason: state === 'abandoned' ? 'idle' : null,
    started_at: 1000 + n,
    finished_at: state === 'completed' ? 2000 + n : null,
    ...extra,
  };
}

function sub(s: ProlificSessionRow | { pid: string; id: string }, status: string, at = 5000): ProlificSubmissionRow {
  const pid = 'prolific_pid' in s ? s.prolific_pid : s.pid;
  const id = 'prolific_pid' in s ? s.prolific_session_id! : s.id;
  return { submission_id: id, study_id: 'st', prolific_pid: pid, status, status_at: at, started_at: at - 100, completed_at: null };
}

const ids = (list: { session: ProlificSessionRow }[]) => list.map((p) => p.session.participant_id);

describe('reconcile', () => {
  it('releases the slots of sessions whose submission Prolific ended, and only those still holding or able to retake one', () => {
    const returned = session('started');
    const timedOut = session('started');
    const rejected = session('started');
    const idle = session('abandoned');
    const alreadyReleased = session('abandoned', { abandon_reason: 'prolific_returned' });
    const completed = session('completed');
    const active = session('started');
    const r = reconcile(
      [returned, timedOut, rejected, idle, alreadyReleased, completed, active],
      [
        sub(returned, 'RETURNED'),
        sub(timedOut, 'TIMED-OUT'),
        sub(rejected, 'REJECTED'),
        sub(idle, 'RETURNED'),
        sub(alreadyReleased, 'RETURNED'),
        sub(completed, 'RETURNED'),
        sub(active, 'ACTIVE'),
      ],
    );
    expect(r.releases.map((x) => [x.session.participant_id, x.reason])).toEqual([
      [returned.participant_id, 'prolific_returned'],
      [timedOut.participant_id, 'prolific_timed_out'],
      [rejected.participant_id, 'prolific_rejected'],
      [idle.participant_id, 'prolific_returned'],
    ]);
    expect(ids(r.completedEndedThere)).toEqual([completed.participant_id]);
    expect(r.statusCounts).toEqual({ RETURNED: 4, 'TIMED-OUT': 1, REJECTED: 1, ACTIVE: 1 });
  });

  it('lists review candidates and reports mismatches both ways', () => {
    const awaiting = session('completed');
    const approved = session('completed');
    const noSubmission = session('completed');
    const claimed = session('started');
    const screened = session('screened_out');
    const idleActive = session('abandoned');
    const r = reconcile(
      [awaiting, approved, noSubmission, claimed, screened, idleActive],
      [
        sub(awaiting, 'AWAITING REVIEW'),
        sub(approved, 'APPROVED'),
        sub(claimed, 'AWAITING REVIEW'),
        sub(screened, 'AWAITING REVIEW'),
        sub(idleActive, 'ACTIVE'),
        sub({ pid: 'stranger', id: 'subX' }, 'AWAITING REVIEW'),
        sub({ pid: 'newcomer', id: 'subY' }, 'ACTIVE'),
      ],
    );
    expect(ids(r.awaitingReview)).toEqual([awaiting.participant_id]);
    expect(ids(r.approved)).toEqual([approved.participant_id]);
    expect(r.completedWithoutSubmission.map((s) => s.participant_id)).toEqual([noSubmission.participant_id]);
    expect(ids(r.claimedWithoutCompleting)).toEqual([claimed.participant_id]);
    expect(ids(r.screenedOutAwaitingReview)).toEqual([screened.participant_id]);
    expect(ids(r.idleHereActiveThere)).toEqual([idleActive.participant_id]);
    expect(r.submissionsWithoutSession.map((s) => s.prolific_pid)).toEqual(['stranger']);
    expect(r.notStartedHere.map((s) => s.prolific_pid)).toEqual(['newcomer']);
    expect(r.releases).toEqual([]);
  });

  it('matches by submission id first, then by Prolific ID, and prefers the SESSION_ID match over a later submission', () => {
    const s = session('completed');
    const noSessionId = session('completed', { prolific_session_id: null });
    const r = reconcile(
      [s, noSessionId],
      [
        sub(s, 'AWAITING REVIEW', 5000),
        // The same participant, a later place: not the submission the session arrived with.
        { ...sub(s, 'RETURNED', 9000), submission_id: 'later' },
        { ...sub(noSessionId, 'APPROVED'), submission_id: 'byPid' },
      ],
    );
    expect(r.awaitingReview.map((p) => p.submission.submission_id)).toEqual([s.prolific_session_id]);
    expect(r.approved.map((p) => p.submission.submission_id)).toEqual(['byPid']);
  });
});

describe('choosing approvals', () => {
  const a = session('completed');
  const b = session('completed');
  const c = session('completed');
  const started = session('started');
  const rec = reconcile(
    [a, b, c, started],
    [sub(a, 'AWAITING REVIEW'), sub(b, 'AWAITING REVIEW'), sub(c, 'APPROVED'), sub(started, 'AWAITING REVIEW')],
  );
  // Verdicts as the evidence module would give them: only b is flagged.
  const flagsOf = (p: { session: ProlificSessionRow }) =>
    p.session === b ? [{ code: 'fast_responses' as const, reason: 'too fast' }] : [];

  it('all unflagged: the flagged session is left for a person', () => {
    const r = chooseApprovals(rec, flagsOf, { allUnflagged: true });
    expect(ids(r.chosen)).toEqual([a.participant_id]);
    expect(ids(r.left)).toEqual([b.participant_id]);
  });

  it('a flagged session is approved only when named', () => {
    expect(ids(chooseApprovals(rec, flagsOf, { participants: [b.participant_id] }).chosen)).toEqual([b.participant_id]);
    expect(ids(chooseApprovals(rec, flagsOf, { participants: [b.participant_id], allUnflagged: true }).chosen)).toEqual([
      a.participant_id,
      b.participant_id,
    ]);
  });

  it('refuses what cannot be approved, and an empty choice', () => {
    expect(() => chooseApprovals(rec, flagsOf, { participants: [started.participant_id] })).toThrow(
      'the session did not complete here (started)',
    );
    expect(() => chooseApprovals(rec, flagsOf, { participants: [c.participant_id] })).toThrow('its submission is APPROVED on Prolific');
    expect(() => chooseApprovals(rec, flagsOf, {})).toThrow('name the participants');
  });
});

describe('submission statuses', () => {
  it('are compared in the reference spelling, whatever the case or separators', () => {
    expect(['awaiting_review', 'AWAITING REVIEW', 'timed_out', 'TIMED-OUT', 'screened_out', 'Returned'].map(normaliseStatus)).toEqual([
      'AWAITING REVIEW',
      'AWAITING REVIEW',
      'TIMED-OUT',
      'TIMED-OUT',
      'SCREENED OUT',
      'RETURNED',
    ]);
  });
});

describe('webhook signature', () => {
  const secret = 'shared-secret';
  const now = 1_700_000_000_000;
  const ts = String(now / 1000);
  const sign = (body: string, t = ts) =>
    createHmac('sha256', secret)
      .update(t + body)
      .digest('base64');
  const body = Buffer.from('{"resource_id": "s1", "status": "RETURNED"}');

  it('accepts base64(HMAC-SHA256(secret, timestamp + body)) and nothing else', () => {
    expect(verifyProlificRequest(secret, { signature: sign(body.toString()), timestamp: ts, rawBody: body }, now)).toBeNull();
    expect(verifyProlificRequest('other', { signature: sign(body.toString()), timestamp: ts, rawBody: body }, now)).toBe('bad_signature');
    expect(
      verifyProlificRequest(
        secret,
        { signature: sign(body.toString()), timestamp: ts, rawBody: Buffer.from(body.toString().replace('RETURNED', 'APPROVED')) },
        now,
      ),
    ).toBe('bad_signature');
    expect(verifyProlificRequest(secret, { signature: undefined, timestamp: ts, rawBody: body }, now)).toBe('unsigned');
    expect(verifyProlificRequest(secret, { signature: sign(body.toString()), timestamp: 'yesterday', rawBody: body }, now)).toBe(
      'bad_timestamp',
    );
  });

  it('refuses a timestamp more than five minutes away, even correctly signed', () => {
    const old = String(now / 1000 - 301);
    expect(verifyProlificRequest(secret, { signature: sign(body.toString(), old), timestamp: old, rawBody: body }, now)).toBe('stale');
    const soon = String(now / 1000 + 299);
    expect(verifyProlificRequest(secret, { signature: sign(body.toString(), soon), timestamp: soon, rawBody: body }, now)).toBeNull();
  });

  it("accepts a body signed in the reference example's json.dumps form but sent compact", () => {
    const compact = Buffer.from('{"resource_id":"s1","status":"RETURNED"}');
    expect(verifyProlificRequest(secret, { signature: sign(body.toString()), timestamp: ts, rawBody: compact }, now)).toBeNull();
  });

  it("serialises as Python's json.dumps does", () => {
    // Expected output printed by python3: json.dumps({...}) of the same value.
    const value = {
      resource_id: '6510',
      event_type: 'submission.status.change',
      participant_id: 'p\u00e9\u2028\u{1F600}',
      status: 'RETURNED',
      n: [1, true, null, { a: '\t"\\\u007f/' }],
    };
    expect(pythonJsonDumps(value)).toBe(
      '{"resource_id": "6510", "event_type": "submission.status.change", ' +
        '"participant_id": "p\\u00e9\\u2028\\ud83d\\ude00", "status": "RETURNED", "n": [1, true, null, {"a": "\\t\\"\\\\\\u007f/"}]}',
    );
  });
});

describe('bonus file', () => {
  const id = (k: number) => `p${String(k).padStart(20, 'a')}`;

  it('reads participant ids and amounts in the study currency, to the cent', () => {
    const rows = parseBonusCsv('b.csv', `participant_id,amount,note\n${id(1)},1.5,x\n${id(2)}, 0.07 ,\n${id(3)},12,\n`);
    expect(rows.map((r) => [r.line, r.amount_cents])).toEqual([
      [2, 150],
      [3, 7],
      [4, 1200],
    ]);
    expect(
      csvBonuses([
        { submission_id: 's1', amount_cents: 150 },
        { submission_id: 's2', amount_cents: 7 },
      ]),
    ).toBe('s1,1.50\ns2,0.07\n');
  });

  it('names the file, line and field of every problem', () => {
    expect(() => parseBonusCsv('b.csv', 'participant,amount\nx,1\n')).toThrow('b.csv: no "participant_id" column');
    expect(() => parseBonusCsv('b.csv', `participant_id,amount\n${id(1)},1.234\n`)).toThrow(
      'b.csv: line 2: amount "1.234" is not a positive amount',
    );
    expect(() => parseBonusCsv('b.csv', `participant_id,amount\n${id(1)},0\n`)).toThrow('line 2: amount "0"');
    expect(() => parseBonusCsv('b.csv', `participant_id,amount\n5f1b00000000000000000d01,1\n`)).toThrow(
      'line 2: participant_id "5f1b00000000000000000d01" is not a participant id',
    );
    expect(() => parseBonusCsv('b.csv', `participant_id,amount\n${id(1)},1\n${id(1)},2\n`)).toThrow(
      `line 3: participant ${id(1)} is already on line 2`,
    );
    expect(() => parseBonusCsv('b.csv', `participant_id,amount\n${id(1)},30\n`)).toThrow(
      'line 2: amount 30.00 is above --max-amount 20.00',
    );
    expect(parseBonusCsv('b.csv', `participant_id,amount\n${id(1)},30\n`, 5000)[0]!.amount_cents).toBe(3000);
  });
});
