/**
 * Reads one study from the platform's database through `StudyDataSource` (the stores implement it):
 * main and catch trials aggregated by the database (GROUP BY over the pseudonymous `trial_rows`
 * view), the study's exclusion rules, and from its stimulus set's manifest the number of choices
 * and the models' predictions. Raw Prolific IDs are never selected.
 */
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

/** A study's row and its set's manifest, as stored (JSON text); `manifest` null when the set is missing. */
export interface StoredStudyRecord {
  set_name: string;
  config: string;
  manifest: string | null;
}

/** One session of a study, with its stored main and catch trials grouped by condition. */
export interface SessionTrials {
  id: string;
  participant_id: string;
  state: SessionState;
  preview: boolean;
  /** [phase, model, layer, layer_index, trials, correct] per condition of the main and catch phases. */
  groups: [Phase, string, string, number, number, number][];
  /** [stimulus_id, category, model, layer, layer_index] per main trial; only when asked for. */
  stimuli?: [string, string, string, string, number][];
}

/** One exported trial, in the column order of `loadTrialsExport`'s query (pseudonymous: no Prolific ID). */
export type StoredTrialRow = [
  participant_id: string,
  session_id: string,
  phase: string,
  trial_index: number,
  stimulus_id: string,
  source_id: string,
  category: string,
  model: string,
  layer: string,
  layer_index: number,
  response: string | null,
  correct: number,
  rt_ms: number | null,
  study_id: string,
  session_state: string,
  received_at: number,
  fallback_for: string | null,
  /** The browser's record as stored (canonical JSON): the page's measurements (analysis/trial-measurements.ts). */
  data: string,
];

/**
 * What the analysis reads from the platform's database. Defined here (analysis never imports the
 * server) and implemented by each store (`server/store/*-study-data.ts`); only pseudonymous
 * columns pass through it.
 */
export interface StudyDataSource {
  /** The database, for messages. */
  readonly description: string;
  studyRecord(studyId: string): Promise<StoredStudyRecord | undefined>;
  studyIds(): Promise<string[]>;
  /** Every session of the study (preview ones too), oldest first. */
  sessionTrials(studyId: string, withStimuli: boolean): AsyncIterable<SessionTrials>;
  /** Every non-preview trial of the study, by session and trial index. */
  trialRows(studyId: string): Promise<StoredTrialRow[]>;
}

/** The study's row and its set's manifest; a clear error when either is missing. */
export async function readStudyRecord(
  source: StudyDataSource,
  studyId: string,
): Promise<{ config: Record<string, unknown>; manifest: Manifest; set_name: string }> {
  const where = source.description;
  const row = await source.studyRecord(studyId);
  if (!row) {
    const ids = (await source.studyIds()).join(', ');
    throw new AnalysisInputError(`study "${studyId}" is not in ${where} (studies: ${ids || 'none'})`);
  }
  if (!row.manifest) throw new AnalysisInputError(`study "${studyId}" refers to stimulus set "${row.set_name}", which is not in ${where}`);
  const manifest = Manifest.safeParse(JSON.parse(row.manifest));
  if (!manifest.success) {
    const issue = manifest.error.issues[0]!;
    throw new AnalysisInputError(`stimulus set "${row.set_name}" in ${where}: manifest.${issue.path.join('.')}: ${issue.message}`);
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

export async function loadStudyFromDb(source: StudyDataSource, studyId: string): Promise<DbStudy> {
  const { config, manifest, set_name } = await readStudyRecord(source, studyId);
  const parsedRules = ExclusionRules.safeParse(config.exclusions ?? {});
  if (!parsedRules.success) {
    const issue = parsedRules.error.issues[0]!;
    throw new AnalysisInputError(`study "${studyId}" config: exclusions.${issue.path.join('.')}: ${issue.message}`);
  }
  const builder = new CountsBuilder(studyId, { modelOrder: manifest.models.map((m) => m.model) });
  const { byStimulus, models: predictionModels } = manifestPredictions(manifest);
  for await (const session of source.sessionTrials(studyId, byStimulus.size > 0)) {
    const pid = session.participant_id;
    if (session.preview) {
      for (const g of session.groups) builder.addPreview(g[4]);
      continue;
    }
    builder.participant(pid, session.state);
    for (const [phase, model, layer, layerIndex, n, k] of session.groups) {
      builder.add(pid, session.state, phase, model, layer, layerIndex, n, k);
    }
    // The models' accuracy on exactly the stimuli this participant saw (human vs model).
    for (const [stimulus, category, model, layer, layerIndex] of session.stimuli ?? []) {
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
}

/** Configs stored while `title` defaulted to this placeholder carry it; it is nobody's dataset name. */
const OLD_PLACEHOLDER_TITLE = 'Recognising images and sounds';

/** A study's dataset name (Psych-DS `name`, report title): its own title, else its id. */
export function datasetTitle(config: { title?: unknown }, studyId: string): string {
  return typeof config.title === 'string' && config.title !== OLD_PLACEHOLDER_TITLE ? config.title : studyId;
}
