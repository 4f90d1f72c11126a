/**
 * From the frame observer's log (bench/pages/frame-observer.ts) to on-screen times: a run is the
 * frames in which one stimulus element was visible; its on-screen time is the timestamp of the
 * first frame that no longer shows it minus that of the first frame that did — the span a display
 * refreshing at those frames shows it for.
 */
import { median } from './order-statistics.ts';

export interface FrameLog {
  t: number[];
  state: number[];
  el: number[];
}

export interface OnScreenRun {
  /** Frame timestamps, ms (the page's performance.now() clock). */
  onset: number;
  offset: number;
  ms: number;
  /** Frames rendered with the stimulus visible (fewer than ms / frame interval if frames were dropped). */
  frames: number;
  /** The frame that hid the stimulus showed the mask. */
  maskNext: boolean;
  /** Longest interval between rendered frames from two frames before the onset to the offset. */
  maxGap: number;
}

const STIMULUS = 1;
const MASK = 2;

export function onScreenRuns(log: FrameLog): OnScreenRun[] {
  const runs: OnScreenRun[] = [];
  let start = -1;
  for (let i = 0; i < log.t.length; i++) {
    const visible = (log.state[i]! & STIMULUS) !== 0;
    if (start >= 0 && (!visible || log.el[i] !== log.el[start])) {
      let maxGap = 0;
      for (let j = Math.max(1, start - 2); j <= i; j++) maxGap = Math.max(maxGap, log.t[j]! - log.t[j - 1]!);
      runs.push({
        onset: log.t[start]!,
        offset: log.t[i]!,
        ms: log.t[i]! - log.t[start]!,
        frames: i - start,
        maskNext: (log.state[i]! & MASK) !== 0,
        maxGap,
      });
      start = -1;
    }
    if (visible && start < 0) start = i;
  }
  // A run still open when the log ends has no offset: left out.
  return runs;
}

/** Intervals between consecutive rendered frames, ms. */
export function frameIntervals(log: FrameLog, from = -Infinity, to = Infinity): number[] {
  const out: number[] = [];
  for (let i = 1; i < log.t.length; i++) if (log.t[i - 1]! >= from && log.t[i]! <= to) out.push(log.t[i]! - log.t[i - 1]!);
  return out;
}

export interface ErrorSummary {
  n: number;
  frameMs: number;
  medianMs: number;
  /** Median of |error| in frames (error rounded to whole frames first). */
  medianAbsFrames: number;
  meanAbsMs: number;
  /** Trials by |error| in whole frames: 0, 1, 2, more. */
  off: [number, number, number, number];
  minMs: number;
  maxMs: number;
}

/** Errors against the target; an error is counted in whole frames of the given interval. */
export function summariseErrors(durations: number[], targetMs: number, frameMs: number): ErrorSummary {
  const errors = durations.map((d) => d - targetMs);
  const frames = errors.map((e) => Math.abs(Math.round(e / frameMs)));
  const off: [number, number, number, number] = [0, 0, 0, 0];
  for (const f of frames) off[Math.min(3, f) as 0 | 1 | 2 | 3] += 1;
  return {
    n: durations.length,
    frameMs,
    medianMs: median(durations),
    medianAbsFrames: median(frames),
    meanAbsMs: errors.reduce((a, e) => a + Math.abs(e), 0) / Math.max(1, errors.length),
    off,
    minMs: Math.min(...durations),
    maxMs: Math.max(...durations),
  };
}
