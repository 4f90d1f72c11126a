/**
 * A session's gates: blocks of trials after which the participant goes on only with enough correct
 * answers: the headphone check (audio) and the screening block. Gates come in plan order; a failed
 * gate ends the session as screened out, and a later gate is decided only after the earlier ones.
 * Pure: the plan, the config and the stored trials in, decisions out.
 */
import type { GatePhase } from '../experiment/contract.ts';
import type { PlannedTrial, SessionPlan } from './session-plan.ts';
import type { TrialRow } from './store/store.ts';
import type { StudyConfig } from './study-config.ts';

export interface Gate {
  phase: GatePhase;
  trials: PlannedTrial[];
  /** The gate is asked after this trial. */
  lastIndex: number;
  minCorrect: number;
}

/** Plans and configs never change once stored; every trial POST asks, so the answer is kept. */
const cache = new WeakMap<SessionPlan, { config: StudyConfig; gates: Gate[] }>();

export function gatesOf(plan: SessionPlan, config: StudyConfig): Gate[] {
  const hit = cache.get(plan);
  if (hit && hit.config === config) return hit.gates;
  const gates = computeGates(plan, config);
  cache.set(plan, { config, gates });
  return gates;
}

function computeGates(plan: SessionPlan, config: StudyConfig): Gate[] {
  const gates: Gate[] = [];
  const headphone = plan.trials.filter((t) => t.phase === 'headphone');
  if (headphone.length > 0) {
    gates.push({
      phase: 'headphone',
      trials: headphone,
      lastIndex: Math.max(...headphone.map((t) => t.index)),
      minCorrect: config.protocol.headphone_min_correct ?? headphone.length,
    });
  }
  const screening = plan.trials.filter((t) => t.phase === 'screening');
  if (screening.length > 0 && plan.screeningLastIndex !== null) {
    gates.push({
      phase: 'screening',
      trials: screening,
      lastIndex: plan.screeningLastIndex,
      minCorrect: config.protocol.screening_min_correct,
    });
  }
  return gates;
}

export interface GateScore {
  /** Indices of the gate's trials not stored yet. */
  missing: number[];
  correct: number;
  /** Decided only when nothing is missing. */
  passed: boolean | null;
}

export function scoreGate(gate: Gate, stored: ReadonlyMap<number, Pick<TrialRow, 'correct'>>): GateScore {
  const missing = gate.trials.filter((t) => !stored.has(t.index)).map((t) => t.index);
  const correct = gate.trials.reduce((n, t) => n + (stored.get(t.index)?.correct ?? 0), 0);
  return { missing, correct, passed: missing.length > 0 ? null : correct >= gate.minCorrect };
}

/** The first gate the stored trials fail, if any (for a screened-out session: where it ended). */
export function failedGate(gates: readonly Gate[], stored: ReadonlyMap<number, Pick<TrialRow, 'correct'>>): Gate | undefined {
  return gates.find((g) => scoreGate(g, stored).passed === false);
}
