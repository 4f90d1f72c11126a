/**
 * A Psych-DS dataset of a study's trials (https://psych-ds.github.io/, schema 0.4.0):
 * `dataset_description.json` — a schema.org Dataset in JSON-LD with `name`, `description` and
 * `variableMeasured` describing every column — and the data under `data/`, named with Psych-DS
 * keywords (`study-<id>_data.csv`; keyword values must be alphanumeric, so other characters of
 * the study id are dropped and the full id is kept in `identifier`). Also as a zip (fflate).
 */
import { strToU8, zipSync } from 'fflate';
import { type TrialsExport, trialsToCsv } from './trials-export.ts';

export const PSYCH_DS_SCHEMA_VERSION = 'Psych-DS 0.4.0';

/** Relative path → file contents. */
export type DatasetFiles = Record<string, string>;

export function psychDsDataFile(studyId: string): string {
  const value = studyId.replace(/[^A-Za-z0-9]/g, '') || 'study';
  return `data/study-${value}_data.csv`;
}

export function psychDsDataset(exp: TrialsExport, now: Date = new Date()): DatasetFiles {
  const participants = new Set(exp.rows.map((r) => r.participant_id)).size;
  const description = {
    '@context': 'https://schema.org',
    '@type': 'Dataset',
    schemaVersion: PSYCH_DS_SCHEMA_VERSION,
    name: exp.title,
    identifier: exp.study_id,
    description:
      `Trial-level responses of study "${exp.study_id}" (stimulus set "${exp.set_name}", ${exp.modality}): ` +
      `${exp.rows.length} trials from ${participants} participants classifying natural stimuli and model metamers. ` +
      'Participant ids are keyed hashes of the recruitment ids; raw Prolific IDs are not included. ' +
      'Experimenter preview sessions are left out.',
    dateCreated: now.toISOString(),
    keywords: ['model metamers', 'psychophysics', 'recognizability', exp.modality],
    variableMeasured: exp.columns.map((c) => ({
      '@type': 'PropertyValue',
      name: c.name,
      description: c.description,
      value: c.type,
    })),
  };
  return {
    'dataset_description.json': `${JSON.stringify(description, null, 2)}\n`,
    [psychDsDataFile(exp.study_id)]: trialsToCsv(exp),
  };
}

/** The dataset as zip bytes, every path under one top-level folder (for a browser download). */
export function psychDsZip(files: DatasetFiles, folder: string): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [p, content] of Object.entries(files)) entries[`${folder}/${p}`] = strToU8(content);
  return zipSync(entries, { level: 6 });
}
