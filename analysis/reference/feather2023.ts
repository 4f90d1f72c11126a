/**
 * Rebuilds trial-level CSVs from the published per-participant proportions of Feather et al. 2023
 * (no trial-level data was released; see ./feather2023/README.md). For every participant and
 * condition it writes n trials of which k are correct, with k/n equal to the published proportion
 * exactly, so that analysing the CSVs must give back the published means. The generating model's
 * accuracy on "the same stimuli" (the `Network` observer) is written as `model_correct_<model>`
 * columns with the same n, so the human-vs-model analysis runs too.
 *
 * n for a cell is the smallest common denominator of the cell's published proportions (human and
 * networks), scaled to be near the experiment's trials per condition (400 main trials / number of
 * conditions), since the paper's participants each saw 400 trials spread over all conditions.
 *
 * Run: node --import tsx analysis/reference/feather2023.ts [out-dir]
 * (writes one CSV per experiment, e.g. vision-exp1.csv, and prints their names).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

export const FEATHER2023_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'feather2023');
export const LONG_CSV = path.join(FEATHER2023_DIR, 'metamer_human_vs_network_long.csv.gz');
export const SUMMARY_CSV = path.join(FEATHER2023_DIR, 'metamer_summary_by_model_layer.csv');

/** Main trials per participant in the paper's experiments (docs/design.md §5). */
const MAIN_TRIALS = 400;

interface LongRow {
  modality: string;
  repo_experiment_number: string;
  model: string;
  participant: string;
  layer_index: string;
  layer: string;
  observer: string;
  proportion_correct: string;
}

export interface RebuiltExperiment {
  /** `<modality>-exp<repo experiment number>`, e.g. `vision-exp12`. */
  study_id: string;
  modality: 'vision' | 'audio';
  models: string[];
  csv: string;
  trials: number;
}

/** The smallest n with round(p·n)/n === p, or an error if p is not such a fraction (n ≤ 10000). */
export function denominatorOf(p: number): number {
  for (let n = 1; n <= 10_000; n++) {
    if (Math.round(p * n) / n === p) return n;
  }
  throw new Error(`proportion ${p} is not k/n for any n ≤ 10000`);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function readLongCsv(file: string = LONG_CSV): LongRow[] {
  const buf = fs.readFileSync(file);
  const text = file.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return parse(text, { columns: true, skip_empty_lines: true }) as LongRow[];
}

export function rebuildFeather2023(rows: readonly LongRow[]): RebuiltExperiment[] {
  const byExperiment = new Map<string, LongRow[]>();
  for (const r of rows) {
    const id = `${r.modality}-exp${r.repo_experiment_number}`;
    (byExperiment.get(id) ?? byExperiment.set(id, []).get(id)!).push(r);
  }
  const out: RebuiltExperiment[] = [];
  for (const [studyId, expRows] of byExperiment) {
    const models = [...new Set(expRows.map((r) => r.model))];
    // Condition key: '' + natural for layer_index 0 (shared by all models), else model/layer.
    const conditions = new Map<string, { model: string; layer: string; layer_index: number }>();
    // participant → condition → { human, network: model → proportion }
    const cells = new Map<string, Map<string, { human?: number; network: Map<string, number> }>>();
    for (const r of expRows) {
      const idx = Number(r.layer_index);
      const natural = idx === 0;
      const key = natural ? 'natural' : `${r.model}/${r.layer}`;
      if (!conditions.has(key))
        conditions.set(key, { model: natural ? '' : r.model, layer: natural ? 'natural' : r.layer, layer_index: idx });
      const p = Number(r.proportion_correct);
      const byCond = cells.get(r.participant) ?? cells.set(r.participant, new Map()).get(r.participant)!;
      const cell = byCond.get(key) ?? byCond.set(key, { network: new Map() }).get(key)!;
      if (r.observer === 'Human') {
        if (cell.human !== undefined && cell.human !== p) {
          throw new Error(`${studyId} participant ${r.participant}: natural proportion differs between models (${cell.human} vs ${p})`);
        }
        cell.human = p;
      } else cell.network.set(r.model, p);
    }
    const target = Math.max(1, Math.round(MAIN_TRIALS / conditions.size));
    const header = [
      'study_id',
      'participant_id',
      'session_id',
      'session_state',
      'phase',
      'trial_index',
      'stimulus_id',
      'model',
      'layer',
      'layer_index',
      'correct',
      ...models.map((m) => `model_correct_${m}`),
    ];
    const records: (string | number)[][] = [];
    const participants = [...cells.keys()].sort((a, b) => Number(a) - Number(b));
    for (const participant of participants) {
      const pid = `${studyId}-p${participant}`;
      let trialIndex = 0;
      for (const [key, cond] of conditions) {
        const cell = cells.get(participant)!.get(key);
        if (!cell || cell.human === undefined) continue;
        let lcm = denominatorOf(cell.human);
        for (const p of cell.network.values()) {
          const d = denominatorOf(p);
          lcm = (lcm / gcd(lcm, d)) * d;
        }
        const n = lcm * Math.max(1, Math.round(target / lcm));
        const k = Math.round(cell.human * n);
        const networkK = new Map([...cell.network].map(([m, p]) => [m, Math.round(p * n)]));
        for (let i = 0; i < n; i++) {
          records.push([
            studyId,
            pid,
            `${pid}-s1`,
            'completed',
            'main',
            trialIndex++,
            `${studyId}-${key}-${participant}-${i}`,
            cond.model,
            cond.layer,
            cond.layer_index,
            i < k ? 1 : 0,
            ...models.map((m) => {
              const km = networkK.get(m);
              // A metamer informs only its generating model; natural trials every model's.
              if (km === undefined || (cond.model !== '' && cond.model !== m)) return '';
              return i < km ? 1 : 0;
            }),
          ]);
        }
      }
    }
    out.push({
      study_id: studyId,
      modality: studyId.startsWith('audio') ? 'audio' : 'vision',
      models,
      csv: stringify(records, { header: true, columns: header }),
      trials: records.length,
    });
  }
  return out;
}

export function writeRebuilt(outDir: string, experiments: readonly RebuiltExperiment[]): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  return experiments.map((e) => {
    const file = path.join(outDir, `${e.study_id}.csv`);
    fs.writeFileSync(file, e.csv);
    return file;
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? 'feather2023-trials';
  for (const f of writeRebuilt(outDir, rebuildFeather2023(readLongCsv()))) process.stdout.write(`${f}\n`);
}
