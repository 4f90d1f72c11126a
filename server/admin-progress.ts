/**
 * A study's progress as the experimenter watches it (dashboard, `metamer study status`): sessions
 * by state, completed against the target, median duration, and per condition the main trials
 * stored so far against the plan. Pseudonymous throughout: no Prolific ID is read here.
 */
import type { Manifest } from '../stimuli/manifest.ts';
import { abandonAfterMinutes } from './abandonment.ts';
import { participantUrl } from './participant-url.ts';
import { buildSessionPlan, studyDesign } from './session-plan.ts';
import type { SessionCounts, SessionSummary, Store, StudyRow } from './store/store.ts';

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
  /** New participants are refused from here on; those in a session may finish. */
  target_reached: boolean;
  /** Median of finished − started over completed, non-preview sessions; null before the first. */
  median_duration_ms: number | null;
  conditions: ConditionProgress[];
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const key = (model: string, layer: string) => `${model}\u0000${layer}`;

/**
 * Main trials per condition summed over slots 0 … target−1. A slot's main block depends on the slot
 * only through (slot mod C) (assignment.ts), so C plans suffice whatever the target. Metamers that
 * are missing from the set are planned as their natural stand-in, exactly as they are stored.
 */
export function plannedAtTarget(study: StudyRow, manifest: Manifest): Map<string, number> {
  const design = studyDesign(study.config, manifest);
  const c = design.conditions.length;
  const target = study.config.target_completed;
  const out = new Map<string, number>();
  for (let r = 0; r < Math.min(c, target); r++) {
    const times = Math.floor((target - 1 - r) / c) + 1;
    for (const t of buildSessionPlan(study.config, manifest, r, design).trials) {
      if (t.phase !== 'main') continue;
      const k = key(t.model, t.layer);
      out.set(k, (out.get(k) ?? 0) + times);
    }
  }
  return out;
}

export class StudyProgressReader {
  /** Study configs never change after creation, so neither does their plan per condition. */
  private readonly planned = new Map<string, Map<string, number>>();

  constructor(private readonly store: Store) {}

  private async plannedOf(study: StudyRow): Promise<Map<string, number>> {
    const cacheKey = `${study.id}\u0000${study.created_at}`;
    let p = this.planned.get(cacheKey);
    if (!p) {
      const manifest = await this.store.getStimulusSet(study.set_name);
      if (!manifest) throw new Error(`study ${study.id} refers to missing stimulus set ${study.set_name}`);
      p = plannedAtTarget(study, manifest);
      this.planned.set(cacheKey, p);
    }
    return p;
  }

  async progress(study: StudyRow, publicBase: string, sessions?: SessionSummary[]): Promise<StudyProgress> {
    const list = sessions ?? (await this.store.listSessions(study.id));
    const counts: SessionCounts = { started: 0, completed: 0, screened_out: 0, abandoned: 0 };
    let previews = 0;
    const durations: number[] = [];
    for (const s of list) {
      if (s.preview) {
        previews++;
        continue;
      }
      counts[s.state]++;
      if (s.state === 'completed' && s.finished_at !== null) durations.push(s.finished_at - s.started_at);
    }

    const planned = await this.plannedOf(study);
    const manifest = (await this.store.getStimulusSet(study.set_name))!;
    const design = studyDesign(study.config, manifest);
    const rows = new Map<string, ConditionProgress>();
    for (const c of design.conditions) {
      const [model, layer, layerIndex] = c === 'natural' ? ['', 'natural', 0] : [c.model, c.layer, c.layer_index];
      rows.set(key(model, layer), {
        label: model === '' ? 'natural' : `${model} / ${layer}`,
        model,
        layer,
        layer_index: layerIndex,
        completed_trials: 0,
        in_progress_trials: 0,
        planned_at_target: planned.get(key(model, layer)) ?? 0,
      });
    }
    for (const t of await this.store.mainTrialCounts(study.id)) {
      let row = rows.get(key(t.model, t.layer));
      if (!row) {
        // Only if the stored rows name a condition the design does not (a set replaced under a study).
        row = { label: t.model === '' ? t.layer : `${t.model} / ${t.layer}`, model: t.model, layer: t.layer, layer_index: t.layer_index, completed_trials: 0, in_progress_trials: 0, planned_at_target: 0 };
        rows.set(key(t.model, t.layer), row);
      }
      if (t.state === 'completed') row.completed_trials += t.trials;
      else if (t.state === 'started') row.in_progress_trials += t.trials;
    }

    const c = study.config;
    return {
      id: study.id,
      title: c.title,
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
      target_reached: counts.completed >= c.target_completed,
      median_duration_ms: median(durations),
      conditions: [...rows.values()],
    };
  }
}
