/**
 * What `metamer analyze <study>` reads from the database besides the counts (load-study-db.ts):
 * the study config's `analysis` block (which levels to analyse) and, for other-model
 * recognizability over stimuli in trials, the stimuli shown in main trials. Read-only.
 */
import { AnalysisInputError } from './input-error.ts';
import { AnalysisConfig } from './level-choice.ts';
import { openReadOnly, readStudyRecord } from './load-study-db.ts';

export function readAnalysisConfig(file: string, studyId: string): AnalysisConfig {
  const db = openReadOnly(file);
  try {
    const { config } = readStudyRecord(db, file, studyId);
    const parsed = AnalysisConfig.safeParse(config.analysis ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = ['analysis', ...issue.path.map(String)].join('.');
      throw new AnalysisInputError(`study "${studyId}" config: ${where}: ${issue.message}`);
    }
    return parsed.data;
  } finally {
    db.close();
  }
}

/** Ids of the stimuli shown in main trials of the study (experimenter previews left out). */
export function stimuliInTrialsFromDb(file: string, studyId: string): Set<string> {
  const db = openReadOnly(file);
  try {
    const ids = db
      .prepare(
        `SELECT DISTINCT stimulus_id FROM trial_rows WHERE study_id = ? AND phase = 'main' AND preview = 0 AND stimulus_id IS NOT NULL`,
      )
      .pluck()
      .all(studyId) as string[];
    return new Set(ids);
  } finally {
    db.close();
  }
}
