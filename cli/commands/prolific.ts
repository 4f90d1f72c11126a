/**
 * `metamer prolific link|sync|approve|reject|return|bonus|webhook`: the Prolific loop from the
 * command line (docs/prolific.md). Each needs PROLIFIC_API_TOKEN and says so in one line without
 * it. Modules load inside each action, so `metamer --help` stays fast. Output is pseudonymous:
 * participants appear by their participant id, never by their Prolific ID.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { ProlificClient } from '../../server/prolific/client.ts';
import type { ProlificOverview } from '../../server/prolific/overview.ts';
import type { Store } from '../../server/store/store.ts';
import { dataPaths } from '../paths.ts';

function print(json: boolean, data: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text + '\n');
}

/** The client first (no token: one line, nothing opened), then the store; closed whatever happens. */
async function withProlific<T>(cmd: Command, run: (store: Store, client: ProlificClient) => Promise<T>): Promise<T> {
  const { ProlificClient } = await import('../../server/prolific/client.ts');
  const client = ProlificClient.fromEnv();
  const { databaseFor, withStore } = await import('../../server/store/open-store.ts');
  return withStore(databaseFor(dataPaths(cmd.optsWithGlobals().db as string).db), (store) => run(store, client));
}

const flagList = (flags: readonly { code: string; reason: string }[]) => flags.map((f) => `${f.code} (${f.reason})`).join('; ');

const REASON_LABEL: Record<string, string> = {
  prolific_returned: 'returned',
  prolific_timed_out: 'timed out',
  prolific_rejected: 'rejected',
};

function overviewText(o: ProlificOverview): string[] {
  const lines: string[] = [];
  const counts = Object.entries(o.status_counts).map(([s, n]) => `${s} ${n}`);
  lines.push(`on Prolific: ${counts.length ? counts.join(', ') : 'no submissions'}`);
  const released = Object.entries(o.released).map(([r, n]) => `${REASON_LABEL[r] ?? r} ${n}`);
  if (released.length) lines.push(`sessions released because Prolific ended their submission: ${released.join(', ')}`);
  lines.push(`completed here and approved there: ${o.approved}`);
  lines.push(`completed here, awaiting your review on Prolific: ${o.review.length}`);
  for (const r of o.review) lines.push(`  ${r.participant_id}  ${r.flags.length ? flagList(r.flags) : 'no flags'}`);
  const m = o.mismatches;
  const groups: [string, { participant_id?: string; prolific_status: string | null; state?: string }[]][] = [
    ['completed here, no submission on Prolific', m.completed_without_submission],
    ['completed here, ended otherwise on Prolific', m.completed_ended_there],
    ['awaiting review or approved on Prolific, not completed here', m.claimed_without_completing],
    ['screened out here, awaiting review on Prolific', m.screened_out_awaiting_review],
    ['abandoned here (idle), still active on Prolific', m.idle_here_active_there],
    ["on Prolific, no session here (Prolific IDs on the dashboard's payments view)", m.submissions_without_session],
  ];
  for (const [label, list] of groups) {
    if (list.length === 0) continue;
    lines.push(`${label}: ${list.length}`);
    for (const x of list)
      lines.push(`  ${x.participant_id ?? '(no session)'}  ${x.state ? `${x.state} here, ` : ''}${x.prolific_status ?? 'none'} there`);
  }
  if (o.not_started_here) lines.push(`on Prolific, not opened here yet: ${o.not_started_here}`);
  return lines;
}

function amountOption(v: string): number {
  const m = /^\s*(\d{1,6})(?:\.(\d{1,2}))?\s*$/.exec(v);
  if (!m) throw new InvalidArgumentError('an amount like 20.00');
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

function resolveOption(v: string): { run: number; as: 'paid' | 'unpaid' } {
  const m = /^(\d+)=(paid|unpaid)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('RUN=paid or RUN=unpaid, e.g. 3=paid');
  return { run: Number(m[1]), as: m[2] as 'paid' | 'unpaid' };
}

export function register(program: Command): void {
  const prolific = program
    .command('prolific')
    .description('link a study to Prolific, keep submissions in step, approve and pay bonuses (needs PROLIFIC_API_TOKEN)');

  prolific
    .command('link <study> <prolific-study-id>')
    .description('link a study to its Prolific study (checks that it exists and lists this study’s completion codes)')
    .option('--json', 'print JSON')
    .action(async (id: string, prolificId: string, opts: { json?: boolean }, cmd: Command) => {
      const { linkStudy } = await import('../../server/prolific/link.ts');
      const r = await withProlific(cmd, (store, client) => linkStudy(store, client, id, prolificId));
      const warn = r.codes_missing_on_prolific.map(
        (c) => `warning: the Prolific study has no completion code ${c.code} (this study's ${c.used_for} code): add it on Prolific`,
      );
      print(
        !!opts.json,
        r,
        [
          `study ${id} is linked to Prolific study ${r.prolific.id}${r.prolific.name ? ` (${r.prolific.name}, ${r.prolific.status})` : ''}`,
          ...warn,
        ].join('\n'),
      );
    });

  prolific
    .command('sync <study>')
    .description(
      'fetch the Prolific submissions: free the slots of returned, timed-out and rejected ones; list what awaits review and every mismatch',
    )
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { syncStudy } = await import('../../server/prolific/sync.ts');
      const { prolificOverview } = await import('../../server/prolific/overview.ts');
      const { r, o } = await withProlific(cmd, async (store, client) => {
        const r = await syncStudy(store, client, id);
        return { r, o: await prolificOverview(store, id, r.reconciliation) };
      });
      const released = r.released.map((x) => `  ${x.participant_id}  slot ${x.slot}  ${REASON_LABEL[x.reason]}`);
      print(
        !!opts.json,
        { listed: r.listed, synced_at: new Date(r.synced_at).toISOString(), released_now: r.released, ...o },
        [
          `study ${id}: ${r.listed} submissions on Prolific study ${r.link.prolific_study_id}`,
          `released now: ${r.released.length}`,
          ...released,
          ...overviewText(o),
        ].join('\n'),
      );
    });

  prolific
    .command('approve <study> [participants...]')
    .description('approve on Prolific the named sessions, or all unflagged ones, that completed here and await review there')
    .option('--all-unflagged', 'every completed session awaiting review that has no quality flag')
    .option('--dry-run', 'show what would be approved; approve nothing')
    .option('--json', 'print JSON')
    .action(
      async (id: string, participants: string[], opts: { allUnflagged?: boolean; dryRun?: boolean; json?: boolean }, cmd: Command) => {
        if (participants.length === 0 && !opts.allUnflagged)
          cmd.error('metamer: name the participants to approve, or use --all-unflagged', { exitCode: 2 });
        const { approveSubmissions } = await import('../../server/prolific/review.ts');
        const r = await withProlific(cmd, (store, client) =>
          approveSubmissions(store, client, id, { participants, allUnflagged: opts.allUnflagged, dryRun: opts.dryRun }),
        );
        const verb = r.dry_run ? 'would approve' : 'approved';
        print(
          !!opts.json,
          r,
          [
            `${verb} ${r.approved.length}${r.approved.length ? ':' : ''}`,
            ...r.approved.map((c) => `  ${c.participant_id}`),
            ...(r.failed.length ? [`failed ${r.failed.length}:`, ...r.failed.map((f) => `  ${f.participant_id}  ${f.error}`)] : []),
            ...(r.left.length
              ? [
                  `left for you (awaiting review, not chosen): ${r.left.length}`,
                  ...r.left.map((c) => `  ${c.participant_id}  ${flagList(c.flags) || 'not named'}`),
                ]
              : []),
          ].join('\n'),
        );
        if (r.failed.length > 0) process.exitCode = 1;
      },
    );

  prolific
    .command('reject <study> <participant>')
    .description('reject one submission awaiting review on Prolific, with a reason you give (never automatic)')
    .requiredOption('--category <category>', 'Prolific’s rejection category, e.g. NO_DATA, FAILED_CHECK, LOW_EFFORT')
    .requiredOption('--message <text>', 'the reason, sent to the participant (at least 100 characters)')
    .option('--dry-run', 'check everything; reject nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        participant: string,
        opts: { category: string; message: string; dryRun?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const { checkRejection, rejectSubmission } = await import('../../server/prolific/review.ts');
        checkRejection(opts);
        const r = await withProlific(cmd, (store, client) => rejectSubmission(store, client, id, { participant, ...opts }));
        print(
          !!opts.json,
          r,
          r.dry_run ? `would reject ${participant} (now ${r.status})` : `rejected ${participant}: ${r.status} on Prolific`,
        );
      },
    );

  prolific
    .command('return <study> <participant>')
    .description('ask the participant of a submission still active on Prolific to return it')
    .requiredOption('--reason <text...>', 'why (shown to the participant); may be given several times')
    .option('--dry-run', 'check everything; ask nothing')
    .option('--json', 'print JSON')
    .action(async (id: string, participant: string, opts: { reason: string[]; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const { requestReturn } = await import('../../server/prolific/review.ts');
      const r = await withProlific(cmd, (store, client) =>
        requestReturn(store, client, id, { participant, reasons: opts.reason, dryRun: opts.dryRun }),
      );
      print(!!opts.json, r, `${r.dry_run ? 'would ask' : 'asked'} ${participant} to return the submission`);
    });

  prolific
    .command('bonus <study>')
    .description('pay bonuses from a CSV (participant_id,amount) through a ledger: no bonus is ever paid twice, even after a crash')
    .requiredOption('--csv <file>', 'header participant_id,amount; one row per participant; amounts in the study’s currency (1.50)')
    .option(
      '--batch <name>',
      'the ledger’s name for this round of bonuses (default: the file name); a participant gets at most one bonus per batch',
    )
    .option('--max-amount <amount>', 'refuse any bonus above this (default 20.00)', amountOption)
    .option('--resolve <run=paid|unpaid>', 'your decision on a run whose payment is unknown (see the report)', resolveOption)
    .option('--dry-run', 'check the file and show what would be paid; pay nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        opts: {
          csv: string;
          batch?: string;
          maxAmount?: number;
          resolve?: { run: number; as: 'paid' | 'unpaid' };
          dryRun?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const path = await import('node:path');
        const { readBonusCsv } = await import('../../server/prolific/bonus-csv.ts');
        const { runBonuses } = await import('../../server/prolific/bonus-ledger.ts');
        const { ProlificClient } = await import('../../server/prolific/client.ts');
        ProlificClient.fromEnv();
        const rows = readBonusCsv(opts.csv, opts.maxAmount);
        const batch = opts.batch ?? path.basename(opts.csv).replace(/\.[^.]*$/, '');
        const r = await withProlific(cmd, (store, client) =>
          runBonuses(store, client, id, opts.csv, rows, { batch, dryRun: opts.dryRun, resolve: opts.resolve }),
        );
        print(
          !!opts.json,
          r,
          [
            `batch "${r.batch}"${r.dry_run ? ' (dry run: nothing sent)' : ''}: ${r.already_in_ledger} row(s) already in the ledger`,
            ...r.runs.map(
              (x) =>
                `  run ${x.run || '(new)'}: ${x.participants} participant(s), ${x.total}: ${x.outcome}${x.detail ? ` — ${x.detail}` : ''}`,
            ),
          ].join('\n'),
        );
        if (r.runs.some((x) => x.outcome === 'unknown' || x.outcome === 'not paid')) process.exitCode = 1;
      },
    );

  prolific
    .command('webhook <workspace-id>')
    .description('subscribe this server to Prolific’s submission status events (the URL must be public https)')
    .option('--url <url>', 'where Prolific posts (default: $METAMER_PUBLIC_URL/api/prolific/webhook)')
    .option('--create-secret', 'create the workspace’s signing secret and print it (replaces any secret the workspace had)')
    .option('--json', 'print JSON')
    .action(async (workspace: string, opts: { url?: string; createSecret?: boolean; json?: boolean }) => {
      const { ProlificClient } = await import('../../server/prolific/client.ts');
      const { userError } = await import('../../server/http-error.ts');
      const client = ProlificClient.fromEnv();
      const base = process.env.METAMER_PUBLIC_URL?.replace(/\/+$/, '');
      const url = opts.url ?? (base ? `${base}/api/prolific/webhook` : undefined);
      if (!url) throw userError('give --url, or set METAMER_PUBLIC_URL to this server’s public address');
      const secret = opts.createSecret ? await client.createHookSecret(workspace) : undefined;
      const sub = await client.subscribe(workspace, 'submission.status.change', url);
      const lines = [`subscribed ${sub.id}: submission.status.change → ${sub.target_url}`];
      if (secret) lines.push(`set PROLIFIC_WEBHOOK_SECRET on the server to: ${secret}`);
      else lines.push('set PROLIFIC_WEBHOOK_SECRET on the server to the workspace’s webhook secret (or run again with --create-secret)');
      print(!!opts.json, { subscription: sub, secret: secret ?? null }, lines.join('\n'));
    });
}
