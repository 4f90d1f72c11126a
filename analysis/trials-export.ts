/**
 * The tidy trials export (docs/design.md §4): every non-preview trial of a study, pseudonymous
 * (`participant_id` is the keyed hash; raw Prolific IDs are never selected), with the models'
 * predictions from the stimulus set's manifest appended. CSV and JSON renderings are strings.
 */
import { stringify } from 'csv-stringify/sync';
import { datasetTitle, manifestPredictions, readStudyRecord, type StudyDataSource } from './load-study-db.ts';
import { MEASUREMENT_COLUMNS, measurementCells } from './trial-measurements.ts';
import { type ColumnDescription, predictionColumn, TRIAL_COLUMNS } from './trial-row.ts';

export type ExportCell = string | number | null;

export interface TrialsExport {
  study_id: string;
  title: string;
  set_name: string;
  modality: 'image' | 'audio';
  columns: ColumnDescription[];
  rows: Record<string, ExportCell>[];
}

/**
 * The session's id in exports. The stored id is the session's bearer token (whoever holds it can
 * post trials and ask for the completion code), so it never leaves the server; a participant has
 * exactly one session per study, so the pseudonymous participant id names the session as well.
 */
/** The measured timings the browser sent with a trial (an older or malformed record has none). */
function recordedTimings(data: string): { wait_ms?: number } {
  try {
    const t = (JSON.parse(data) as { timings?: { wait_ms?: unknown } }).timings;
    return typeof t?.wait_ms === 'number' ? { wait_ms: t.wait_ms } : {};
  } catch {
    return {};
  }
}

export function exportedSessionId(participantId: string): string {
  return `s-${participantId}`;
}

export async function loadTrialsExport(source: StudyDataSource, studyId: string): Promise<TrialsExport> {
  const { config, manifest, set_name } = await readStudyRecord(source, studyId);
  const { byStimulus, models } = manifestPredictions(manifest);
  const columns = [...TRIAL_COLUMNS, ...MEASUREMENT_COLUMNS, ...models.map(predictionColumn)];
  const dbRows = await source.trialRows(studyId);
  const rows = dbRows.map((r) => {
    const preds = byStimulus.get(r[4]);
    const row: Record<string, ExportCell> = {
      participant_id: r[0],
      session_id: exportedSessionId(r[0]),
      phase: r[2],
      trial_index: r[3],
      stimulus_id: r[4],
      source_id: r[5],
      category: r[6],
      model: r[7],
      layer: r[8],
      layer_index: r[9],
      response: r[10],
      correct: r[11],
      rt_ms: r[12],
      study_id: r[13],
      session_state: r[14],
      received_at: new Date(r[15]).toISOString(),
      model_prediction: r[7] !== '' ? (preds?.get(r[7]) ?? null) : null,
      fallback_for: r[16],
      wait_ms: recordedTimings(r[17]).wait_ms ?? null,
      // What the page measured (presentation, visibility, audio clock): docs/integrity.md.
      ...measurementCells(r[17]),
    };
    for (const m of models) row[`prediction_${m}`] = preds?.get(m) ?? null;
    return row;
  });
  return {
    study_id: studyId,
    title: datasetTitle(config, studyId),
    set_name,
    modality: manifest.modality,
    columns,
    rows,
  };
}

export function trialsToCsv(exp: Pick<TrialsExport, 'columns' | 'rows'>): string {
  const names = exp.columns.map((c) => c.name);
  return stringify(
    exp.rows.map((r) => names.map((n) => r[n] ?? '')),
    { header: true, columns: names },
  );
}

export function trialsToJson(exp: Pick<TrialsExport, 'rows'>): string {
  return `${JSON.stringify(exp.rows, null, 1)}\n`;
}
