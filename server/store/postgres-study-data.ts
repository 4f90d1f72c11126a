/**
 * The analysis module's read interface (`StudyDataSource`) on PostgreSQL. A study's condition
 * groups come in one GROUP BY (one round trip instead of one per session); the per-trial stimuli,
 * needed only when the manifest has model predictions, are read session by session so that a
 * million-trial study never sits in memory at once. Text is ordered byte-wise (COLLATE "C") as in
 * SQLite: the participants' order feeds the seeded bootstrap, so both databases give one result.
 */
import type pg from 'pg';
import type { SessionTrials, StoredStudyRecord, StoredTrialRow, StudyDataSource } from '../../analysis/load-study-db.ts';
import type { SessionState } from '../../analysis/trial-row.ts';

type Group = [string, ...SessionTrials['groups'][number]];

export class PostgresStudyData implements StudyDataSource {
  constructor(
    private readonly pool: pg.Pool,
    readonly description: string,
  ) {}

  private async arrays<R extends unknown[]>(text: string, values: unknown[]): Promise<R[]> {
    const res = await this.pool.query<R>({ text, values, rowMode: 'array' });
    return res.rows;
  }

  async studyRecord(studyId: string) {
    const { rows } = await this.pool.query<StoredStudyRecord>(
      'SELECT s.set_name, s.config, m.manifest FROM studies s LEFT JOIN stimulus_sets m ON m.name = s.set_name WHERE s.id = $1',
      [studyId],
    );
    return rows[0];
  }

  async studyIds() {
    return (await this.arrays<[string]>('SELECT id FROM studies ORDER BY id COLLATE "C"', [])).map((r) => r[0]);
  }

  async *sessionTrials(studyId: string, withStimuli: boolean): AsyncIterable<SessionTrials> {
    const sessions = await this.arrays<[string, string, SessionState, number]>(
      'SELECT id, participant_id, state, preview FROM sessions WHERE study_id = $1 ORDER BY started_at, id COLLATE "C"',
      [studyId],
    );
    const groups = new Map<string, SessionTrials['groups']>();
    const rows = await this.arrays<Group>(
      `SELECT session_id, phase, model, layer, layer_index, count(*), sum(correct)
         FROM trial_rows
        WHERE study_id = $1 AND phase IN ('main', 'catch')
        GROUP BY session_id, phase, model, layer, layer_index
        ORDER BY session_id COLLATE "C", phase COLLATE "C", model COLLATE "C", layer COLLATE "C", layer_index`,
      [studyId],
    );
    for (const [session, ...group] of rows) {
      let list = groups.get(session);
      if (!list) groups.set(session, (list = []));
      list.push(group);
    }
    for (const [id, participant_id, state, preview] of sessions) {
      const stimuli =
        withStimuli && !preview
          ? await this.arrays<[string, string, string, string, number]>(
              `SELECT stimulus_id, category, model, layer, layer_index FROM trials WHERE session_id = $1 AND phase = 'main'
                ORDER BY trial_index`,
              [id],
            )
          : undefined;
      yield { id, participant_id, state, preview: preview === 1, groups: groups.get(id) ?? [], stimuli };
    }
  }

  async trialRows(studyId: string) {
    return this.arrays<StoredTrialRow>(
      `SELECT participant_id, session_id, phase, trial_index, stimulus_id, source_id, category, model, layer,
              layer_index, response, correct, rt_ms, study_id, session_state, received_at, fallback_for, data
         FROM trial_rows
        WHERE study_id = $1 AND preview = 0
        ORDER BY session_id COLLATE "C", trial_index`,
      [studyId],
    );
  }
}
