/**
 * What `metamer analyze <study>` reads from the platform's database besides the counts
 * (load-study-db.ts), through the same `StudyDataSource`: the study config's `analysis` block
 * (which levels to analyse) and, for other-model recognizability over stimuli in trials, the
 * stimuli shown in main trials. Read-only; pseudonymous columns only.
 */
import { AnalysisInputError } from './input-error.ts';
import { AnalysisConfig } from './level-choice.ts';
import { readStudyRecord, type StudyDataSource } from './load-study-db.ts';

export async function readAnalysisConfig(source: StudyDataSource, studyId: string): Promise<AnalysisConfig> {
  const { config } = await readStudyRecord(source, studyId);
  const parsed = AnalysisConfig.safeParse(config.analysis ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = ['analysis', ...issue.path.map(String)].join('.');
    throw new AnalysisInputError(`study "${studyId}" config: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** Ids of the stimuli shown in main trials of the study (experimenter previews left out). */
export async function stimuliInTrials(source: StudyDataSource, studyId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const session of source.sessionTrials(studyId, true)) {
    if (session.preview) continue;
    for (const [stimulus] of session.stimuli ?? []) ids.add(stimulus);
  }
  return ids;
}
