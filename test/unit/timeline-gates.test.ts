// @vitest-environment jsdom
/**
 * Where the timeline asks its gates, whatever a reload left behind: an undecided gate must come
 * before any trial past it (else the server refuses those trials with 425 forever) and before
 * completion, also when an earlier trial is missing while the gate's last trial is stored.
 */
import { describe, expect, it } from 'vitest';
import { initJsPsych } from 'jspsych';
import type { ClientTrial, SessionView } from '../../experiment/contract.ts';
import { buildTimeline } from '../../experiment/timeline.ts';
import { Prefetcher } from '../../experiment/prefetch.ts';

// 0–1 practice, 2–4 screening (gate after 4), 5–9 main.
const trials: ClientTrial[] = Array.from({ length: 10 }, (_, index) => ({
  index,
  phase: index < 2 ? 'practice' : 'test',
  stimulus: `/stimuli/${String(index).padStart(64, '0')}.png`,
}));

function view(extra: Partial<SessionView>): SessionView {
  return {
    session: 's',
    resume_key: 'k',
    study: { id: 'study', title: 'Study', modality: 'image' },
    state: 'started',
    choices: ['bear', 'car'],
    timing: { blank_ms: 0, fixation_ms: 0, stimulus_ms: 100, mask_ms: 0 },
    trials,
    answered: [],
    screening_last_index: 4,
    gates_passed: null,
    rest_after: [],
    redirect_url: null,
    ...extra,
  };
}

/** The timeline as a sequence of the steps that matter here: trial indices, `GATE`, `COMPLETE`. */
function shape(v: SessionView, done: number[]): (number | string)[] {
  const timeline = buildTimeline({
    jsPsych: initJsPsych(),
    view: v,
    queue: { enqueue() {}, drain: async () => {}, pendingIndices: () => [], onStatus() {}, onAck: () => () => {} } as never,
    // A line that never answers: the timeline's shape, not its loading, is under test here.
    prefetcher: new Prefetcher(() => new Promise(() => {})),
    done: new Set(done),
    redirect: () => {},
  }) as { data?: { trial_index?: number; gate?: string; step?: string } }[];
  const out: (number | string)[] = [];
  for (const node of timeline) {
    if (node.data?.gate) out.push('GATE');
    else if (node.data?.step === 'complete') out.push('COMPLETE');
    else if (node.data?.trial_index !== undefined) out.push(node.data.trial_index);
  }
  return out;
}

describe('gates in the timeline', () => {
  it('a fresh start asks the gate right after the last screening trial', () => {
    expect(shape(view({}), [])).toEqual([0, 1, 2, 3, 4, 'GATE', 5, 6, 7, 8, 9, 'COMPLETE']);
  });

  it('a reload past the gate asks it first', () => {
    expect(shape(view({ answered: [0, 1, 2, 3, 4, 5] }), [0, 1, 2, 3, 4, 5])).toEqual(['GATE', 6, 7, 8, 9, 'COMPLETE']);
  });

  it('a missing screening trial with the gate trial stored: the missing trial, then the gate, then the rest', () => {
    expect(shape(view({ answered: [0, 1, 2, 4] }), [0, 1, 2, 4])).toEqual([3, 'GATE', 5, 6, 7, 8, 9, 'COMPLETE']);
  });

  it('everything but a screening trial done: that trial, the gate, then completion', () => {
    const done = [0, 1, 2, 4, 5, 6, 7, 8, 9];
    expect(shape(view({ answered: done }), done)).toEqual([3, 'GATE', 'COMPLETE']);
  });

  it('no gate once the server has it passed', () => {
    expect(shape(view({ answered: [0, 1, 2, 3, 4], gates_passed: true }), [0, 1, 2, 3, 4])).toEqual([5, 6, 7, 8, 9, 'COMPLETE']);
  });
});
