/**
 * The analysis module's read interface (`StudyDataSource`) on a SQLite file. Trials are grouped by
 * SQLite itself, one small GROUP BY per session rather than one over the whole study: rows are
 * stored in (session_id, trial_index) order, so each session is a contiguous range, and sorting
 * 400 rows 2,500 times is much cheaper than sorting a million once.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { AnalysisInputError } from '../../analysis/input-error.ts';
import type { SessionTrials, StoredStudyRecord, StoredTrialRow, StudyDataSource } from '../../analysis/load-study-db.ts';
import type { SessionState } from '../../analysis/trial-row.ts';
import type { Db } from './database.ts';

/** Opens the file read-only for the CLI's loaders: a missing file is an error, never created. */
export function openReadOnly(file: string): Db {
  if (!fs.existsSync(file)) throw new AnalysisInputError(`database ${file} does not exist (pass --db or set METAMER_DB)`);
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (e) {
    throw new AnalysisInputError(`database ${file} cannot be opened: ${(e as Error).message}`);
  }
}

export class SqliteStudyData implements StudyDataSource {
  private readonly stmt;

  constructor(
    db: Db,
    readonly description: string,
  ) {
    this.stmt = {
      record: db.prepare(
        'SELECT s.set_name, s.config, m.manifest FROM studies s LEFT JOIN stimulus_sets m ON m.name = s.set_name WHERE s.id = ?',
      ),
      ids: db.prepare('SELECT id FROM studies ORDER BY id').pluck(),
      sessions: db.prepare('SELECT id, participant_id, state, preview FROM sessions WHERE study_id = ? ORDER BY started_at, id').raw(),
      groups: db
        .prepare(
          `SELECT phase, model, layer, layer_index, COUNT(*), SUM(correct)
             FROM trial_rows
            WHERE session_id = ? AND phase IN ('main', 'catch')
            GROUP BY phase, model, layer, layer_index`,
        )
        .raw(),
      stimuli: db
        .prepare(`SELECT stimulus_id, category, model, layer, layer_index FROM trial_rows WHERE session_id = ? AND phase = 'main'`)
        .raw(),
      trials: db
        .prepare(
          `SELECT participant_id, session_id, phase, trial_index, stimulus_id, source_id, category, model, layer,
                  layer_index, response, correct, rt_ms, study_id, session_state, received_at, fallback_for, data
             FROM trial_rows
            WHERE study_id = ? AND preview = 0
            ORDER BY session_id, trial_index`,
        )
        .raw(),
    };
  }

  async studyRecord(studyId: string) {
    return this.stmt.record.get(studyId) as StoredStudyRecord | undefined;
  }

  async studyIds() {
    return this.stmt.ids.all() as string[];
  }

  async *sessionTrials(studyId: string, withStimuli: boolean): AsyncIterable<SessionTrials> {
    for (const [id, participant_id, state, preview] of this.stmt.sessions.all(studyId) as [string, string, SessionState, number][]) {
      const groups = this.stmt.groups.all(id) as SessionTrials['groups'];
      const stimuli = withStimuli && !preview ? (this.stmt.stimuli.all(id) as SessionTrials['stimuli']) : undefined;
      yield { id, participant_id, state, preview: preview === 1, groups, stimuli };
    }
  }

  async trialRows(studyId: string) {
    return this.stmt.trials.all(studyId) as StoredTrialRow[];
  }
}
