/**
 * A study's progress as the experimenter watches it (dashboard, `metamer study status`): sessions
 * by state, completed against the target, median duration, and per condition the main trials
 * stored so far against the plan. Pseudonymous throughout: no Prolific ID is read here.
 */
import { median } from '../analysis/descriptive.ts';
import type { Manifest } from '../stimuli/manifest.ts';
import { abandonAfterMinutes } from './abandonment.ts';
import { participantUrl } from './participant-url.ts';
import { buildSessionPlan, studyDesign } from './session-plan.ts';
import type { SessionCounts, SessionSummary, Store, StudyRow, TurnAwayCounts } from './store/store.ts';

export interface ConditionProgress {
  /** `natural`, or `<model> / <layer>`. */
  label: string;
  model: string;
  layer: string;
  layer_index: number;
  /** Main trials stored from completed (non-preview) sessions. */
  completed_trials: number;
  /** Main trials stored so far from sessions still in progress. */
  in_progress_trials: number;
  /** Main trials this condition gets over the first `target_completed` Latin-square slots. */
  planned_at_target: number;
}

export interface StudyProgress {
  id: string;
  title: string;
  status: StudyRow['status'];
  stimulus_set: string;
  modality: 'image' | 'audio';
  created_at: number;
  target_completed: number;
  abandon_after_minutes: number;
  participant_url: string;
  completion_code: string;
  screenout_code: string;
  complete_url: string;
  /** Non-preview sessions by state. */
  sessions: SessionCounts;
  preview_sessions: number;
  /** Participants the device check turned away before any session (no slot held), each once. */
  turned_away: TurnAwayCounts;
  /** New participants are refused from here on; those in a session may finish. */
  target_reached: boolean;
  /** Median of finished − started over completed, non-preview sessions; null before the first. */
  median_duration_ms: number | null;
  conditions: ConditionProgress[];
}

const key = (model: string, layer: string) => `${model}\u0000${layer}`;

/** What a study's plan says per condition; built once per study (configs never change). */
export interface StudyPlanCounts {
  /** Conditions in display order (natural first). */
  conditions: { model: string; layer: string; layer_index: number }[];
  /**
   * Main trials per condition of a session in slot r, by r mod C. A slot's main block depends on
   * the slot only through (slot mod C) (assignment.ts), so C plans describe every slot. Metamers
   * missing from the set are counted as their natural stand-in, exactly as they are stored.
   */
  perResidue: Map<string, number>[];
}

export function studyPlanCounts(study: StudyRow, manifest: Manifest): StudyPlanCounts {
  const design = studyDesign(study.config, manifest);
  const perResidue: Map<string, number>[] = [];
  for (let r = 0; r < design.conditions.length; r++) {
    const m = new Map<string, number>();
    for (const t of buildSessionPlan(study.config, manifest, r, design).trials) {
      if (t.phase === 'main') m.set(key(t.model, t.layer), (m.get(key(t.model, t.layer)) ?? 0) + 1);
    }
    perResidue.push(m);
  }
  const conditions = design.conditions.map((c) =>
    c === 'natural' ? { model: '', layer: 'natural', layer_index: 0 } : { model: c.model, layer: c.layer, layer_index: c.layer_index },
  );
  return { conditions, perResidue };
}

/** Main trials per condition over the slots 0 … target−1 (what the target asks for). */
export function plannedAtTarget(plan: StudyPlanCounts, target: number): Map<string, number> {
  const c = plan.perResidue.length;
  const out = new Map<string, number>();
  for (let r = 0; r < Math.min(c, target); r++) {
    const times = Math.floor((target - 1 - r) / c) + 1;
    for (const [k, n] of plan.perResidue[r]!) out.set(k, (out.get(k) ?? 0) + n * times);
  }
  return out;
}

export class StudyProgressReader {
  private readonly plans = new Map<string, StudyPlanCounts>();

  constructor(private readonly store: Store) {}

  private async planOf(study: StudyRow): Promise<StudyPlanCounts> {
    const cacheKey = `${study.id}\u0000${study.created_at}`;
    let p = this.plans.get(cacheKey);
    if (!p) {
      const manifest = await this.store.getStimulusSet(study.set_name);
      if (!manifest) throw new Error(`study ${study.id} refers to missing stimulus set ${study.set_name}`);
      p = studyPlanCounts(study, manifest);
      this.plans.set(cacheKey, p);
    }
    return p;
  }

  async progress(study: StudyRow, publicBase: string, sessions?: SessionSummary[]): Promise<StudyProgress> {
    const list = sessions ?? (await this.store.listSessions(study.id));
    const plan = await this.planOf(study);
    const counts: SessionCounts = { started: 0, completed: 0, screened_out: 0, abandoned: 0 };
    let previews = 0;
    const durations: number[] = [];
    const completedTrials = new Map<string, number>();
    for (const s of list) {
      if (s.preview) {
        previews++;
        continue;
      }
      counts[s.state]++;
      if (s.state !== 'completed') continue;
      if (s.finished_at !== null) durations.push(s.finished_at - s.started_at);
      // A session completes only once every planned trial is stored (ParticipantSessions.complete),
      // so its stored main trials are its plan's: no need to scan its rows on every refresh.
      for (const [k, n] of plan.perResidue[s.slot % plan.perResidue.length]!) completedTrials.set(k, (completedTrials.get(k) ?? 0) + n);
    }

    const planned = plannedAtTarget(plan, study.config.target_completed);
    const rows = new Map<string, ConditionProgress>();
    for (const c of plan.conditions) {
      const k = key(c.model, c.layer);
      rows.set(k, {
        label: c.model === '' ? 'natural' : `${c.model} / ${c.layer}`,
        ...c,
        completed_trials: completedTrials.get(k) ?? 0,
        in_progress_trials: 0,
        planned_at_target: planned.get(k) ?? 0,
      });
    }
    for (const t of await this.store.mainTrialCounts(study.id, ['started'])) {
      const row = rows.get(key(t.model, t.layer));
      // Stored rows always name one of the design's conditions (they are copied from the plan).
      if (row) row.in_progress_trials += t.trials;
    }

    const c = study.config;
    return {
      id: study.id,
      title: c.title ?? study.id,
      status: study.status,
      stimulus_set: study.set_name,
      modality: c.modality,
      created_at: study.created_at,
      target_completed: c.target_completed,
      abandon_after_minutes: abandonAfterMinutes(study),
      participant_url: participantUrl(publicBase, study.id),
      completion_code: c.prolific.completion_code,
      screenout_code: c.prolific.screenout_code,
      complete_url: c.prolific.complete_url,
      sessions: counts,
      preview_sessions: previews,
      turned_away: await this.store.turnAwayCounts(study.id),
      target_reached: counts.completed >= c.target_completed,
      median_duration_ms: durations.length === 0 ? null : median(durations),
      conditions: [...rows.values()],
    };
  }
}
