/**
 * The recognizability table (docs/design.md §4): per condition, the mean over included participants of
 * each participant's proportion correct on main trials, its SEM (sample SD, n − 1) and a seeded
 * percentile-bootstrap CI over participants; `chance` = 1 / number of choices.
 */
import { bootstrapConditionMeans } from './bootstrap.ts';
import type { StudyCounts } from './study-counts.ts';

export interface RecognizabilityRow {
  study_id: string;
  model: string;
  layer: string;
  layer_index: number;
  n_participants: number;
  n_trials: number;
  recognizability: number | null;
  sem: number | null;
  ci_low: number | null;
  ci_high: number | null;
  chance: number | null;
}

/** The column order of docs/design.md §4. */
export const TABLE_COLUMNS = [
  'study_id',
  'model',
  'layer',
  'layer_index',
  'n_participants',
  'n_trials',
  'recognizability',
  'sem',
  'ci_low',
  'ci_high',
  'chance',
] as const satisfies readonly (keyof RecognizabilityRow)[];

export interface TableOptions {
  /** Bootstrap replicates; 0 leaves the CI empty. */
  bootstrap: number;
  seed: number;
  /** CI coverage, e.g. 0.95. */
  ciLevel: number;
  /** Second bootstrap stage: binomial redraws of trials within each participant × condition cell. */
  bootstrapTrials: boolean;
  /** Number of response choices (1/choices = chance); null when unknown. */
  choices: number | null;
  onProgress?: (done: number, total: number) => void;
}

/** Main-trial counts of the included participants who have at least one main trial. */
export function includedCounts(counts: StudyCounts, included: Uint8Array): { k: Uint32Array; n: Uint32Array; rows: number[] } {
  const C = counts.conditions.length;
  const rows: number[] = [];
  for (let p = 0; p < counts.participants.length; p++) {
    if (!included[p]) continue;
    let any = false;
    for (let c = 0; c < C; c++) if (counts.total[p * C + c]! > 0) any = true;
    if (any) rows.push(p);
  }
  const k = new Uint32Array(rows.length * C);
  const n = new Uint32Array(rows.length * C);
  rows.forEach((p, r) => {
    k.set(counts.correct.subarray(p * C, (p + 1) * C), r * C);
    n.set(counts.total.subarray(p * C, (p + 1) * C), r * C);
  });
  return { k, n, rows };
}

export function recognizabilityTable(counts: StudyCounts, included: Uint8Array, opts: TableOptions): RecognizabilityRow[] {
  const C = counts.conditions.length;
  const { k, n, rows } = includedCounts(counts, included);
  const P = rows.length;
  const ci = bootstrapConditionMeans(k, n, P, C, {
    iterations: opts.bootstrap,
    seed: opts.seed,
    level: opts.ciLevel,
    trialLevel: opts.bootstrapTrials,
    onProgress: opts.onProgress,
  });
  const chance = opts.choices && opts.choices > 0 ? 1 / opts.choices : null;
  return counts.conditions.map((cond, c) => {
    let m = 0;
    let trials = 0;
    let sum = 0;
    for (let r = 0; r < P; r++) {
      const nc = n[r * C + c]!;
      if (nc === 0) continue;
      m++;
      trials += nc;
      sum += k[r * C + c]! / nc;
    }
    const avg = m > 0 ? sum / m : NaN;
    let ss = 0;
    for (let r = 0; r < P; r++) {
      const nc = n[r * C + c]!;
      if (nc > 0) ss += (k[r * C + c]! / nc - avg) ** 2;
    }
    const semValue = m > 1 ? Math.sqrt(ss / (m - 1)) / Math.sqrt(m) : NaN;
    return {
      study_id: counts.study_id,
      model: cond.model,
      layer: cond.layer,
      layer_index: cond.layer_index,
      n_participants: m,
      n_trials: trials,
      recognizability: finite(avg),
      sem: finite(semValue),
      ci_low: finite(ci.low[c]!),
      ci_high: finite(ci.high[c]!),
      chance,
    };
  });
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
