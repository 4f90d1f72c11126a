/**
 * Frame-locked presentation. Timers (setTimeout) fire between frames, so a "300 ms" image timed
 * by them is on screen for 17 or 18 frames depending on where the timer lands. Here every change
 * is made inside a requestAnimationFrame callback, and a step ends at the first frame whose start
 * is within half a frame of its target, so each duration is the nearest whole number of frames.
 * The onset recorded for a step is the timestamp of the frame that showed it (the change becomes
 * visible at that frame's presentation, a constant latency that cancels out of every duration).
 */

export interface FrameStep {
  /** Makes this step visible; called inside a rAF callback. */
  show: () => void;
  /** How long the step stays before the next one is shown (the last step's is ignored). */
  ms: number;
}

export interface FrameSequenceResult {
  /** rAF timestamps at which each step was shown. */
  onsets: number[];
  /** The display's frame interval as estimated when the sequence ended. */
  frameMs: number;
  /** Frames the page rendered (rAF callbacks) while each step was shown; the last step's is 0. */
  frames: number[];
}

type Raf = (cb: (t: number) => void) => unknown;

/**
 * The display's frame interval, learnt across trials from every interval seen: the lower quartile
 * of the last 240, so that a main-thread stall (a long interval) cannot make it look slower and
 * let a step end early. Until enough frames are seen, 60 Hz is assumed.
 */
const seen: number[] = [];
function frameInterval(): number {
  if (seen.length < 10) return 1000 / 60;
  const s = seen.slice(-240).sort((a, b) => a - b);
  return s[Math.floor(s.length / 4)]!;
}

export function runFrameSequence(steps: FrameStep[], raf: Raf = (cb) => requestAnimationFrame(cb)): Promise<FrameSequenceResult> {
  return new Promise((resolve) => {
    const onsets: number[] = [];
    const frames: number[] = [];
    let last: number | null = null;
    let i = 0;
    const tick = (t: number) => {
      if (last !== null) {
        seen.push(t - last);
        if (seen.length > 960) seen.splice(0, seen.length - 240);
      }
      last = t;
      const frame = frameInterval();
      const due = i === 0 ? -Infinity : onsets[i - 1]! + steps[i - 1]!.ms - frame / 2;
      if (t >= due) {
        steps[i]!.show();
        onsets.push(t);
        frames.push(0);
        i++;
        if (i === steps.length) return resolve({ onsets, frameMs: frame, frames });
      }
      frames[i - 1]!++;
      raf(tick);
    };
    // The first callback only synchronises with the display; the sequence starts on the next.
    raf(() => raf(tick));
  });
}
