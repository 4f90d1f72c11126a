/**
 * The analysis loaders on a database named as the CLI names it (a SQLite file or a postgres://
 * URL), opened and closed around one call: what `metamer analyze` and `metamer export` do.
 */
import { loadStudyFromDb } from '../../analysis/load-study-db.ts';
import { loadTrialsExport } from '../../analysis/trials-export.ts';
import { openStudyData } from '../../server/store/open-store.ts';

export async function loadStudyAt(database: string, studyId: string) {
  const source = await openStudyData(database);
  return loadStudyFromDb(source, studyId).finally(() => source.close());
}

export async function loadExportAt(database: string, studyId: string) {
  const source = await openStudyData(database);
  return loadTrialsExport(source, studyId).finally(() => source.close());
}
