/**
 * Reads a tidy trials CSV (docs/design.md §4; columns documented in docs/analysis.md) into study counts.
 * Required: participant_id, model, layer, correct; `phase` defaults to main; `layer_index` orders
 * layers when present; `session_state` and `preview` enable the matching exclusions; `study_id`
 * splits the file into studies. Model predictions may come as `model_correct` / `model_prediction`
 * (the generating model) and `model_correct_<model>` / `prediction_<model>` (any model).
 * Every bad cell is reported with file, line and column.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { AnalysisInputError, rethrowCsvError } from './input-error.ts';
import type { Prediction } from './other-model.ts';
import { type AccumulatedStudy, TrialAccumulator } from './trial-accumulator.ts';
import { NATURAL_LAYER, REQUIRED_ANALYSIS_COLUMNS, TrialRow, type TrialRowInput } from './trial-row.ts';

export interface TrialsCsvOptions {
  /** Study id for rows without a study_id column (default: the file name without extension). */
  studyId?: string;
  modelOrder?: readonly string[];
}

const STRING_COLUMNS = ['study_id', 'participant_id', 'session_id', 'stimulus_id', 'source_id', 'category', 'layer'] as const;
const INTEGER_COLUMNS = ['trial_index', 'layer_index'] as const;

/** Streams the file through csv-parse, so memory stays flat for millions of trials. */
export async function loadTrialsCsv(file: string, opts: TrialsCsvOptions = {}): Promise<AccumulatedStudy[]> {
  if (!fs.existsSync(file)) throw new AnalysisInputError(`${file}: no such file`);
  const studyId = opts.studyId ?? path.basename(file).replace(/\.[^.]*$/, '');
  const acc = new TrialAccumulator(studyId, opts.modelOrder);
  const parser = fs.createReadStream(file).pipe(parse({ bom: true, info: true, skip_empty_lines: true, trim: false }));
  let header: string[] | null = null;
  let convert: ((cells: string[]) => TrialRowInput) | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((h) => h.trim());
        convert = rowConverter(file, header);
        continue;
      }
      const where = `${file}: line ${info.lines}`;
      const parsed = TrialRow.safeParse(convert!(record));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const col = issue.path[0] === undefined ? '' : `, column "${String(issue.path[0])}"`;
        throw new AnalysisInputError(`${where}${col}: ${issue.message}`);
      }
      try {
        acc.push(parsed.data);
      } catch (e) {
        if (e instanceof AnalysisInputError) throw new AnalysisInputError(`${where}: ${e.message}`);
        throw e;
      }
    }
  } catch (e) {
    rethrowCsvError(file, e);
  }
  if (!header) throw new AnalysisInputError(`${file}: empty file (expected a header row)`);
  const studies = acc.studies();
  if (studies.length === 0) throw new AnalysisInputError(`${file}: no trials (only a header row)`);
  return studies;
}

function rowConverter(file: string, header: string[]): (cells: string[]) => TrialRowInput {
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new AnalysisInputError(`${file}: column "${h}" appears twice in the header`);
    seen.add(h);
  }
  for (const required of REQUIRED_ANALYSIS_COLUMNS) {
    if (!seen.has(required)) {
      throw new AnalysisInputError(`${file}: missing column "${required}" (required: ${REQUIRED_ANALYSIS_COLUMNS.join(', ')})`);
    }
  }
  const col = (name: string): number => header.indexOf(name);
  const strings = STRING_COLUMNS.map((n) => [n, col(n)] as const).filter(([, i]) => i >= 0);
  const integers = INTEGER_COLUMNS.map((n) => [n, col(n)] as const).filter(([, i]) => i >= 0);
  const iModel = col('model');
  const iPhase = col('phase');
  const iCorrect = col('correct');
  const iResponse = col('response');
  const iRt = col('rt_ms');
  const iState = col('session_state');
  const iPreview = col('preview');
  const iCategory = col('category');
  const iModelCorrect = col('model_correct');
  const iModelPrediction = col('model_prediction');
  const perModel: { observer: string; index: number; kind: 'correct' | 'prediction' }[] = [];
  header.forEach((h, index) => {
    if (h.startsWith('model_correct_')) perModel.push({ observer: h.slice('model_correct_'.length), index, kind: 'correct' });
    else if (h.startsWith('prediction_')) perModel.push({ observer: h.slice('prediction_'.length), index, kind: 'prediction' });
  });
  const hasPredictions = iModelCorrect >= 0 || iModelPrediction >= 0 || perModel.length > 0;

  return (cells) => {
    const row: Record<string, unknown> = {};
    for (const [name, i] of strings) {
      const v = cells[i] ?? '';
      if (v !== '') row[name] = v;
    }
    for (const [name, i] of integers) {
      const v = cells[i] ?? '';
      if (v !== '') row[name] = numberOrText(v);
    }
    row.model = cells[iModel] ?? '';
    if (iPhase >= 0 && cells[iPhase]) row.phase = cells[iPhase];
    row.correct = bitOrText(cells[iCorrect] ?? '');
    if (iResponse >= 0) row.response = cells[iResponse] ? cells[iResponse] : null;
    if (iRt >= 0) row.rt_ms = cells[iRt] ? numberOrText(cells[iRt]!) : null;
    if (iState >= 0 && cells[iState]) row.session_state = cells[iState];
    if (iPreview >= 0 && cells[iPreview]) row.preview = bitOrText(cells[iPreview]!);
    if (hasPredictions) {
      const network: Record<string, unknown> = {};
      const category = iCategory >= 0 ? cells[iCategory] : undefined;
      const model = row.model as string;
      if (model !== '') {
        if (iModelCorrect >= 0 && cells[iModelCorrect]) network[model] = bitOrText(cells[iModelCorrect]!);
        else if (iModelPrediction >= 0 && cells[iModelPrediction] && category)
          network[model] = cells[iModelPrediction] === category ? 1 : 0;
      }
      for (const { observer, index, kind } of perModel) {
        const v = cells[index];
        if (!v || observer in network) continue;
        if (kind === 'correct') network[observer] = bitOrText(v);
        else if (category) network[observer] = v === category ? 1 : 0;
      }
      if (Object.keys(network).length > 0) row.network = network;
    }
    return row as TrialRowInput;
  };
}

function numberOrText(v: string): number | string {
  const x = Number(v);
  return v.trim() !== '' && Number.isFinite(x) ? x : v;
}

function bitOrText(v: string): number | boolean | string {
  const t = v.trim().toLowerCase();
  if (t === '1') return 1;
  if (t === '0') return 0;
  if (t === 'true') return true;
  if (t === 'false') return false;
  return v;
}

/**
 * Reads an observer-model predictions CSV: stimulus_id, observer_model, predicted_category, and
 * optionally the stimulus's own `category`, `model` and `layer` (`natural` for natural stimuli) —
 * with those, stimuli that no participant saw are scored too (other-model recognizability over
 * every stimulus of a condition, the paper's definition).
 */
export async function loadPredictionsCsv(file: string): Promise<Prediction[]> {
  if (!fs.existsSync(file)) throw new AnalysisInputError(`${file}: no such file`);
  const parser = fs.createReadStream(file).pipe(parse({ bom: true, info: true, skip_empty_lines: true }));
  const out: Prediction[] = [];
  let idx: [number, number, number] | null = null;
  let described: { category: number; model: number; layer: number } | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!idx) {
        const header = record.map((h) => h.trim());
        const need = ['stimulus_id', 'observer_model', 'predicted_category'] as const;
        for (const n of need)
          if (!header.includes(n)) throw new AnalysisInputError(`${file}: missing column "${n}" (required: ${need.join(', ')})`);
        idx = [header.indexOf(need[0]), header.indexOf(need[1]), header.indexOf(need[2])];
        const stimulusColumns = ['category', 'layer'].filter((c) => header.includes(c));
        if (stimulusColumns.length === 1) {
          const other = stimulusColumns[0] === 'layer' ? 'category' : 'layer';
          throw new AnalysisInputError(`${file}: column "${stimulusColumns[0]}" needs "${other}" too (to describe each stimulus)`);
        }
        if (stimulusColumns.length === 2) {
          described = { category: header.indexOf('category'), model: header.indexOf('model'), layer: header.indexOf('layer') };
        }
        continue;
      }
      const [a, b, c] = [record[idx[0]] ?? '', record[idx[1]] ?? '', record[idx[2]] ?? ''];
      if (!a || !b) {
        throw new AnalysisInputError(`${file}: line ${info.lines}, column "${a ? 'observer_model' : 'stimulus_id'}": must not be empty`);
      }
      const prediction: Prediction = { stimulus_id: a, observer_model: b, predicted_category: c };
      if (described) {
        const category = record[described.category] ?? '';
        const layer = record[described.layer] ?? '';
        const model = described.model >= 0 ? (record[described.model] ?? '') : '';
        if (!category || !layer) {
          throw new AnalysisInputError(`${file}: line ${info.lines}, column "${category ? 'layer' : 'category'}": must not be empty`);
        }
        if (layer !== NATURAL_LAYER && !model) {
          throw new AnalysisInputError(`${file}: line ${info.lines}, column "model": must name the generating model of a metamer`);
        }
        prediction.stimulus = { category, model: layer === NATURAL_LAYER ? '' : model, layer, layer_index: 0 };
      }
      out.push(prediction);
    }
  } catch (e) {
    rethrowCsvError(file, e);
  }
  if (!idx) throw new AnalysisInputError(`${file}: empty file (expected a header row)`);
  return out;
}
