/**
 * Bonuses through a ledger, so that the same bonus is never paid twice (docs/prolific.md).
 *
 * Prolific pays bonuses in two calls: a set-up (creates a bulk bonus, pays nothing) and a pay call,
 * which "is not idempotent. Sending multiple requests with the same bulk bonus payment ID will
 * result in participants being paid multiple times"
 * (https://docs.prolific.com/api-reference/bonuses/pay-bonus-payments). So every step is written
 * down before the next one starts:
 *
 *   intent ──set-up answered──▶ set_up ──recorded just before the pay call──▶ paying ──answered──▶ paid
 *
 * - A participant has at most one bonus per batch (the ledger's primary key), whatever the runs do.
 * - A crash before the set-up's answer leaves `intent`: the next run sets up again; a set-up
 *   Prolific made but never answered is never paid (harmless).
 * - A crash after the set-up, before the pay call, leaves `set_up`: the next run pays it.
 * - A crash (or a timeout) while the pay call is out leaves `paying`: the outcome is unknown. The
 *   next run asks Prolific: each submission lists the bonuses paid on it; when every participant
 *   of the run shows the bonus, the run is marked paid and nothing is sent. When Prolific shows
 *   none yet, nothing is sent either: payments are asynchronous ("done in the following
 *   minutes"), so the run is reported as unknown and a person decides (`--resolve RUN=paid|unpaid`).
 *   Residual risk: only a person who re-sends the pay call for a run whose first call did reach
 *   Prolific can pay twice; the report says so.
 */
import { userError } from '../http-error.ts';
import type { BonusItemRow, BonusRunRow, NewBonusItem } from '../store/prolific-store.ts';
import type { Store } from '../store/store.ts';
import type { BonusRow } from './bonus-csv.ts';
import { formatAmount } from './bonus-csv.ts';
import { type ProlificClient, ProlificApiError } from './client.ts';
import { crashPoint } from './crash-point.ts';
import { syncStudy } from './sync.ts';

export interface BonusOptions {
  batch: string;
  dryRun?: boolean;
  /** A person's decision on a run whose pay call's outcome was unknown. */
  resolve?: { run: number; as: 'paid' | 'unpaid' };
}

export type RunOutcome =
  | 'paid'
  | 'already paid'
  | 'confirmed paid on Prolific'
  | 'marked paid by you'
  | 'would be set up and paid'
  | 'would be paid'
  | 'unknown'
  | 'not paid';

export interface RunReport {
  run: number;
  participants: number;
  total: string;
  outcome: RunOutcome;
  detail?: string;
}

export interface BonusReport {
  batch: string;
  dry_run: boolean;
  /** Rows of the file already in the ledger with the same amount (not added again). */
  already_in_ledger: number;
  runs: RunReport[];
}

export const BATCH_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const total = (items: readonly { amount_cents: number }[]) => formatAmount(items.reduce((n, i) => n + i.amount_cents, 0));

/** Prolific's `csv_bonuses`: `<submission_id>,<amount>\n` per participant, amounts in the study's currency. */
export function csvBonuses(items: readonly Pick<BonusItemRow, 'submission_id' | 'amount_cents'>[]): string {
  return items.map((i) => `${i.submission_id},${formatAmount(i.amount_cents)}\n`).join('');
}

/** The file's rows as ledger items: sessions found, submissions on Prolific, no conflicting bonus in the batch. */
async function newItems(store: Store, client: ProlificClient, studyId: string, file: string, rows: readonly BonusRow[], batch: string) {
  const { reconciliation } = await syncStudy(store, client, studyId);
  const submissionOf = new Map(reconciliation.matched.map((p) => [p.session.participant_id, p]));
  const inLedger = new Map((await store.bonusItems(studyId, batch)).map((i) => [i.session_id, i]));
  const fresh: NewBonusItem[] = [];
  let already = 0;
  const problems: string[] = [];
  for (const r of rows) {
    const pair = submissionOf.get(r.participant_id);
    if (!pair) {
      problems.push(`line ${r.line}: participant ${r.participant_id} has no session with a submission on Prolific in study ${studyId}`);
      continue;
    }
    const earlier = inLedger.get(pair.session.id);
    if (earlier) {
      if (earlier.amount_cents === r.amount_cents) already++;
      else {
        problems.push(
          `line ${r.line}: participant ${r.participant_id} already has a bonus of ${formatAmount(earlier.amount_cents)} ` +
            `in batch "${batch}" (run ${earlier.run_id}); another amount needs another --batch`,
        );
      }
      continue;
    }
    fresh.push({ session_id: pair.session.id, submission_id: pair.submission.submission_id, amount_cents: r.amount_cents });
  }
  if (problems.length > 0) throw userError(`${file}: ${problems.join('; ')} — nothing was paid`);
  return { fresh, already };
}

/** What Prolific shows of a run whose pay call's outcome is unknown: paid for everyone, for no one, or in between. */
async function paidOnProlific(store: Store, client: ProlificClient, studyId: string, run: BonusRunRow): Promise<'all' | 'none' | 'some'> {
  const items = await store.bonusRunItems(run.id);
  const runs = new Map((await store.bonusRuns(studyId)).map((r) => [r.id, r]));
  // Bonuses the ledger already knows were paid to the same submissions, amount by amount.
  const known = new Map<string, number>();
  for (const i of await store.bonusItems(studyId)) {
    if (i.run_id !== run.id && runs.get(i.run_id)?.state === 'paid') {
      const key = `${i.submission_id} ${i.amount_cents}`;
      known.set(key, (known.get(key) ?? 0) + 1);
    }
  }
  let shown = 0;
  for (const i of items) {
    const s = await client.getSubmission(i.submission_id);
    const seen = s.bonus_payments.filter((c) => Math.round(c) === i.amount_cents).length;
    if (seen > (known.get(`${i.submission_id} ${i.amount_cents}`) ?? 0)) shown++;
  }
  return shown === items.length ? 'all' : shown === 0 ? 'none' : 'some';
}

async function pay(
  store: Store,
  client: ProlificClient,
  run: BonusRunRow,
  now: () => number,
): Promise<Pick<RunReport, 'outcome' | 'detail'>> {
  // Written before the call: from here on the payment may have happened.
  if (!(await store.advanceBonusRun(run.id, 'set_up', 'paying', now())))
    return { outcome: 'not paid', detail: 'another process is paying this run' };
  try {
    await client.payBonuses(run.setup_id!);
  } catch (e) {
    if (!(e instanceof ProlificApiError)) throw e;
    if (e.httpStatus >= 400 && e.httpStatus < 500) {
      // Refused: nothing was paid; the run can be paid again once the cause is fixed.
      await store.advanceBonusRun(run.id, 'paying', 'set_up', now());
      return { outcome: 'not paid', detail: e.message };
    }
    return { outcome: 'unknown', detail: `${e.message}; re-run this command to check Prolific before anything is sent again` };
  }
  await store.advanceBonusRun(run.id, 'paying', 'paid', now());
  return { outcome: 'paid' };
}

export async function runBonuses(
  store: Store,
  client: ProlificClient,
  studyId: string,
  file: string,
  rows: readonly BonusRow[],
  opts: BonusOptions,
  now: () => number = Date.now,
): Promise<BonusReport> {
  if (!BATCH_PATTERN.test(opts.batch)) throw userError(`--batch "${opts.batch}": 1–100 letters, digits, ".", "_" or "-"`);
  const link = await store.prolificLink(studyId);
  if (!link) throw userError(`study ${studyId} is not linked to a Prolific study (metamer prolific link ${studyId} <prolific-study-id>)`);
  const { fresh, already } = await newItems(store, client, studyId, file, rows, opts.batch);
  const report: BonusReport = { batch: opts.batch, dry_run: !!opts.dryRun, already_in_ledger: already, runs: [] };
  const pending = (await store.bonusRuns(studyId)).filter((r) => r.batch === opts.batch && r.state !== 'paid');

  if (opts.dryRun) {
    for (const r of pending) {
      const items = await store.bonusRunItems(r.id);
      report.runs.push({
        run: r.id,
        participants: items.length,
        total: total(items),
        outcome: r.state === 'paying' ? 'unknown' : 'would be paid',
      });
    }
    if (fresh.length > 0)
      report.runs.push({ run: 0, participants: fresh.length, total: total(fresh), outcome: 'would be set up and paid' });
    return report;
  }

  if (opts.resolve) {
    const { run, as } = opts.resolve;
    if (pending.find((x) => x.id === run)?.state !== 'paying') {
      throw userError(
        `--resolve: run ${run} of batch "${opts.batch}" is not waiting for a decision ` + '(only runs whose payment is unknown are)',
      );
    }
    await store.advanceBonusRun(run, 'paying', as === 'paid' ? 'paid' : 'set_up', now());
  }
  const runIds = pending.map((r) => r.id);
  if (fresh.length > 0) runIds.push((await store.createBonusRun(studyId, opts.batch, fresh, now())).id);

  for (const id of runIds) {
    let run = (await store.bonusRuns(studyId)).find((r) => r.id === id)!;
    const items = await store.bonusRunItems(run.id);
    const base = { run: run.id, participants: items.length, total: total(items) };
    if (run.state === 'paid') {
      report.runs.push({ ...base, outcome: opts.resolve?.run === run.id ? 'marked paid by you' : 'already paid' });
      continue;
    }
    if (run.state === 'paying') {
      const shown = await paidOnProlific(store, client, studyId, run);
      if (shown === 'all' && (await store.advanceBonusRun(run.id, 'paying', 'paid', now()))) {
        report.runs.push({ ...base, outcome: 'confirmed paid on Prolific' });
      } else {
        report.runs.push({
          ...base,
          outcome: 'unknown',
          detail:
            shown === 'some'
              ? 'Prolific shows the bonus for some of its participants only: the payment is probably still being processed; re-run later'
              : 'Prolific shows no payment yet (payments take minutes). Re-run later; if it never shows, ' +
                `check Prolific's bonus page and decide: --resolve ${run.id}=paid or --resolve ${run.id}=unpaid ` +
                '(which sends the pay call again: only when you are sure it was not paid)',
        });
      }
      continue;
    }
    if (run.state === 'intent') {
      let setupId: string;
      try {
        setupId = (await client.setUpBonuses(link.prolific_study_id, csvBonuses(items))).id;
      } catch (e) {
        if (!(e instanceof ProlificApiError)) throw e;
        report.runs.push({ ...base, outcome: 'not paid', detail: `set-up failed: ${e.message}` });
        continue;
      }
      await store.advanceBonusRun(run.id, 'intent', 'set_up', now(), setupId);
      crashPoint('after-bonus-setup');
      run = { ...run, state: 'set_up', setup_id: setupId };
    }
    report.runs.push({ ...base, ...(await pay(store, client, run, now)) });
  }
  return report;
}
