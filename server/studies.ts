/**
 * A study's life: created (draft) from a config file, launched (live), paused, closed.
 * Paused and closed studies take no new participants; those already in a session may finish,
 * because cutting them off would lose work they are being paid for.
 */
import { StudyConfig, type StudyConfigInput, type StudyStatus } from './study-config.ts';
import { studyDesign } from './session-plan.ts';
import type { Store, StudyRow } from './store/store.ts';
import { userError } from './http-error.ts';

/** Validates a config against its stimulus set and stores the study as a draft. */
export async function createStudy(store: Store, input: StudyConfigInput | unknown): Promise<StudyRow> {
  const config = StudyConfig.parse(input);
  const manifest = await store.getStimulusSet(config.stimulus_set);
  if (!manifest)
    throw userError(`study ${config.id}: stimulus_set "${config.stimulus_set}" has not been imported (see metamer stimuli list)`, 422);
  studyDesign(config, manifest);
  return store.createStudy(config);
}

const TRANSITIONS: Record<'launch' | 'pause' | 'close', { from: StudyStatus[]; to: StudyStatus }> = {
  launch: { from: ['draft', 'paused'], to: 'live' },
  pause: { from: ['live'], to: 'paused' },
  close: { from: ['draft', 'live', 'paused'], to: 'closed' },
};

export type StudyAction = keyof typeof TRANSITIONS;

export async function changeStudyStatus(store: Store, id: string, action: StudyAction): Promise<StudyRow> {
  const study = await store.getStudy(id);
  if (!study) throw userError(`no study "${id}" (see metamer study list)`, 404);
  const t = TRANSITIONS[action];
  if (study.status === t.to) return study;
  if (!t.from.includes(study.status)) throw userError(`study ${id} is ${study.status}; it cannot ${action}`, 409);
  await store.setStudyStatus(id, t.to);
  return (await store.getStudy(id))!;
}
