/**
 * The bonus file of `metamer prolific bonus <study> --csv <file>`: a header row, then one row per
 * participant with the pseudonymous `participant_id` (as in the trials export) and the `amount`
 * in the study's currency (`1.50` is £1.50 or $1.50, as Prolific reads it). Other columns are
 * ignored. Any problem names the file, line and field, and nothing is paid.
 */
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { userError } from '../http-error.ts';

export interface BonusRow {
  line: number;
  participant_id: string;
  amount_cents: number;
}

/**
 * Prolific's warning: "An amount of 30 will pay £/$30.00". A bonus above this is refused unless
 * the command is given a higher --max-amount (a pence-for-pounds slip would otherwise cost 100×).
 */
export const DEFAULT_MAX_AMOUNT_CENTS = 2000;

export function parseAmount(text: string): number | null {
  const m = /^\s*(\d{1,6})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}

export function formatAmount(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function parseBonusCsv(file: string, text: string, maxCents = DEFAULT_MAX_AMOUNT_CENTS): BonusRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
    });
  } catch (e) {
    throw userError(`${file}: not a readable CSV (${(e as Error).message})`);
  }
  if (records.length === 0)
    throw userError(`${file}: no bonus rows (expected a header "participant_id,amount" and one row per participant)`);
  for (const col of ['participant_id', 'amount']) {
    if (!(col in records[0]!)) throw userError(`${file}: no "${col}" column (expected a header "participant_id,amount")`);
  }
  const seen = new Map<string, number>();
  return records.map((r, i) => {
    const line = i + 2;
    const id = r.participant_id ?? '';
    if (!/^p[0-9a-f]{20}$/.test(id)) {
      throw userError(
        `${file}: line ${line}: participant_id "${id.slice(0, 40)}" is not a participant id of this platform ` +
          '(p followed by 20 hex digits, as in the exports)',
      );
    }
    const cents = parseAmount(r.amount ?? '');
    if (cents === null || cents === 0)
      throw userError(`${file}: line ${line}: amount "${(r.amount ?? '').slice(0, 20)}" is not a positive amount like 1.50`);
    if (cents > maxCents)
      throw userError(`${file}: line ${line}: amount ${formatAmount(cents)} is above --max-amount ${formatAmount(maxCents)}`);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw userError(`${file}: line ${line}: participant ${id} is already on line ${earlier}`);
    seen.set(id, line);
    return { line, participant_id: id, amount_cents: cents };
  });
}

export function readBonusCsv(file: string, maxCents?: number): BonusRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw userError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseBonusCsv(file, text, maxCents);
}
