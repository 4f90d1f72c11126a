/**
 * Pacing checked by the server: a trial cannot be stored earlier than a participant doing the task
 * could have answered it. Each planned trial has a minimum presentation time (`min_ms`: fixation +
 * image + mask for an image trial, the sound's duration for an audio trial; session-plan.ts), so
 * trial k cannot arrive before the session's start plus the minimums of trials 0…k, less the
 * tolerance. Late trials are always taken: an offline queue flushing 30 s of answers in a burst
 * is late, never early. Completion is refused before the minimum total time in the same way.
 *
 * The tolerance (10 % of each trial's minimum) covers what can make an honest display shorter
 * than configured: a frame dropped or rounded at each of the three phases (17 ms at 60 Hz, 33 ms
 * at 30 Hz) and the clocks of browser and server running at rates a few ppm apart. Nothing an
 * honest page does comes near it: before each trial's minimum the page also spends the blank
 * before the fixation cross, the press of "Start trial" or "Play", and the response itself, none
 * of which is counted (docs/integrity.md has the numbers).
 */
import type { SessionPlan } from './session-plan.ts';

/** The share of each trial's minimum presentation time a trial may arrive early by. */
export const PACING_TOLERANCE = 0.1;

/** Plans never change once stored, and the store keeps one object per session: computed once each. */
const offsets = new WeakMap<SessionPlan, Float64Array>();

/** For each trial k, the least time from the session's start until k may be stored (ms). */
export function earliestOffsets(plan: SessionPlan): Float64Array {
  let out = offsets.get(plan);
  if (out) return out;
  out = new Float64Array(plan.trials.length);
  let sum = 0;
  for (const [k, t] of plan.trials.entries()) {
    // Plans made before pacing was checked carry no minimum: those sessions are not paced.
    sum += (t.min_ms ?? 0) * (1 - PACING_TOLERANCE);
    out[k] = sum;
  }
  offsets.set(plan, out);
  return out;
}

/** How long before trial `index` may be stored (ms; ≤ 0 when it may be stored now). */
export function pacingWait(plan: SessionPlan, startedAt: number, index: number, now: number): number {
  return startedAt + earliestOffsets(plan)[index]! - now;
}

/** How long before the session may complete (ms; ≤ 0 when it may). */
export function completionWait(plan: SessionPlan, startedAt: number, now: number): number {
  const all = earliestOffsets(plan);
  return all.length === 0 ? 0 : startedAt + all[all.length - 1]! - now;
}
