/**
 * Reads one study from the platform's SQLite file, read-only: main and catch trials aggregated by
 * SQLite itself (GROUP BY over the pseudonymous `trial_rows` view, session by session), the study's
 * exclusion rules, and
 * from its stimulus set's manifest the number of choices and the models' predictions. Raw Prolific
 * IDs are never selected.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { Manifest } from '../stimuli/manifest.ts';
import { ExclusionRules } from './exclusions.ts';
import { AnalysisInputError } from './input-error.ts';
import type { Prediction, StimulusInfo } from './other-model.ts';
import { CountsBuilder, type StudyCounts } from './study-counts.ts';
import { NATURAL_LAYER, type Phase, type SessionState } from './trial-row.ts';

export interface DbStudy {
  counts: StudyCounts;
  exclusions: ExclusionRules;
  /** Number of response choices (the manifest's categories). */
  choices: number;
  set_name: string;
  title: string;
  modality: 'image' | 'audio';
  /** Main stimuli of the set with category and condition. */
  stimuli: Map<string, StimulusInfo>;
  /** Every model prediction the manifest records (`prediction_<model>`, `model_prediction`). */
  predictions: Prediction[];
  /** Models that have a `prediction_<model>` attribute somewhere, in manifest order. */
  predictionModels: string[];
}

export function openReadOnly(file: string): Database.Database {
  if (!fs.existsSync(file)) throw new AnalysisInputError(`database ${file} does not exist (pass --db or set METAMER_DB)`);
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    throw new AnalysisInputError(`database ${file} cannot be opened: ${(e as Error).message}`);
  }
}

interface StudyRecord {
  set_name: string;
  config: string;
  manifest: string;
}

/** The study's row and its set's manifest; a clear error when either is missing. */
export function readStudyRecord(db: Database.Database, file: string, studyId: string): { config: Record<string, unknown>; manifest: Manifest; set_name: string } {
  const row = db
    .prepare('SELECT s.set_name, s.config, m.manifest FROM studies s LEFT JOIN stimulus_sets m ON m.name = s.set_name WHERE s.id = ?')
    .get(studyId) as StudyRecord | undefined;
  if (!row) {
    const ids = (db.prepare('SELECT id FROM studies ORDER BY id').pluck().all() as string[]).join(', ');
    throw new AnalysisInputError(`study "${studyId}" is not in ${file} (studies: ${ids || 'none'})`);
  }
  if (!row.manifest) throw new AnalysisInputError(`study "${studyId}" refers to stimulus set "${row.set_name}", which is not in ${file}`);
  const manifest = Manifest.safeParse(JSON.parse(row.manifest));
  if (!manifest.success) {
    const issue = manifest.error.issues[0]!;
    throw new AnalysisInputError(`stimulus set "${row.set_name}" in ${file}: manifest.${issue.path.join('.')}: ${issue.message}`);
  }
  return { config: JSON.parse(row.config) as Record<string, unknown>, manifest: manifest.data, set_name: row.set_name };
}

/** Per stimulus: observer model → predicted label, from the manifest's attributes. */
export function manifestPredictions(manifest: Manifest): { byStimulus: Map<string, Map<string, string>>; models: string[] } {
  const byStimulus = new Map<string, Map<string, string>>();
  const models: string[] = [];
  for (const item of manifest.items) {
    const preds = new Map<string, string>();
    for (const [key, value] of Object.entries(item.attributes)) {
      if (!key.startsWith('prediction_') || typeof value !== 'string' || value === '') continue;
      const observer = key.slice('prediction_'.length);
      preds.set(observer, value);
      if (!models.includes(observer)) models.push(observer);
    }
    const own = item.attributes.model_prediction;
    if (item.condition !== NATURAL_LAYER && typeof own === 'string' && own !== '') preds.set(item.condition.model, own);
    if (preds.size > 0) byStimulus.set(item.id, preds);
  }
  const order = manifest.models.map((m) => m.model);
  models.sort((a, b) => rank(order, a) - rank(order, b));
  return { byStimulus, models };
}

function rank(order: string[], x: string): number {
  const i = order.indexOf(x);
  return i < 0 ? order.length : i;
}

export function loadStudyFromDb(file: string, studyId: string): DbStudy {
  const db = openReadOnly(file);
  try {
    const { config, manifest, set_name } = readStudyRecord(db, file, studyId);
    const parsedRules = ExclusionRules.safeParse(config.exclusions ?? {});
    if (!parsedRules.success) {
      const issue = parsedRules.error.issues[0]!;
      throw new AnalysisInputError(`study "${studyId}" config: exclusions.${issue.path.join('.')}: ${issue.message}`);
    }
    const builder = new CountsBuilder(studyId, { modelOrder: manifest.models.map((m) => m.model) });

    const sessions = db
      .prepare('SELECT id, participant_id, state, preview FROM sessions WHERE study_id = ? ORDER BY started_at, id')
      .raw()
      .all(studyId) as [string, string, SessionState, number][];
    // One small GROUP BY per session rather than one over the whole study: rows are stored in
    // (session_id, trial_index) order, so each session is a contiguous range, and sorting 400 rows
    // 2,500 times is much cheaper than sorting a million once.
    const groups = db
      .prepare(
        `SELECT phase, model, layer, layer_index, COUNT(*), SUM(correct)
           FROM trial_rows
          WHERE session_id = ? AND phase IN ('main', 'catch')
          GROUP BY phase, model, layer, layer_index`,
      )
      .raw();
    const { byStimulus, models: predictionModels } = manifestPredictions(manifest);
    const perStimulus = db
      .prepare(`SELECT stimulus_id, category, model, layer, layer_index FROM trial_rows WHERE session_id = ? AND phase = 'main'`)
      .raw();
    for (const [sessionId, pid, state, preview] of sessions) {
      const rows = groups.all(sessionId) as [Phase, string, string, number, number, number][];
      if (preview) {
        for (const g of rows) builder.addPreview(g[4]);
        continue;
      }
      builder.participant(pid, state);
      for (const [phase, model, layer, layerIndex, n, k] of rows) builder.add(pid, state, phase, model, layer, layerIndex, n, k);
      if (byStimulus.size === 0) continue;
      // The models' accuracy on exactly the stimuli this participant saw (human vs model).
      for (const [stimulus, category, model, layer, layerIndex] of perStimulus.all(sessionId) as [string, string, string, string, number][]) {
        const preds = byStimulus.get(stimulus);
        if (!preds) continue;
        for (const [observer, label] of preds) {
          if (model !== '' && observer !== model) continue;
          builder.addObserver(pid, observer, model, layer, layerIndex, 1, label === category ? 1 : 0);
        }
      }
    }

    const stimuli = new Map<string, StimulusInfo>();
    const predictions: Prediction[] = [];
    for (const item of manifest.items) {
      if (item.role !== 'main') continue;
      const natural = item.condition === NATURAL_LAYER;
      stimuli.set(item.id, {
        category: item.category,
        model: natural ? '' : (item.condition as { model: string }).model,
        layer: natural ? NATURAL_LAYER : (item.condition as { layer: string }).layer,
        layer_index: natural ? 0 : (item.condition as { layer_index: number }).layer_index,
      });
      for (const [observer, label] of byStimulus.get(item.id) ?? []) {
        predictions.push({ stimulus_id: item.id, observer_model: observer, predicted_category: label });
      }
    }
    return {
      counts: builder.build(),
      exclusions: parsedRules.data,
      choices: manifest.categories.length,
      set_name,
      title: datasetTitle(config, studyId),
      modality: manifest.modality,
      stimuli,
      predictions,
      predictionModels,
    };
  } finally {
    db.close();
  }
}

/** Configs stored while `title` defaulted to this placeholder carry it; it is nobody's dataset name. */
const OLD_PLACEHOLDER_TITLE = 'Recognising images and sounds';

/** A study's dataset name (Psych-DS `name`, report title): its own title, else its id. */
export function datasetTitle(config: { title?: unknown }, studyId: string): string {
  return typeof config.title === 'string' && config.title !== OLD_PLACEHOLDER_TITLE ? config.title : studyId;
}
