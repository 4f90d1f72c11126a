/**
 * The timing bench's page: a run of image trials that starts and answers itself, in one of two
 * modes read from the page's config (a JSON block in the HTML):
 * - `frame-locked`: the project's trial (`imageTrial` from experiment/image-trial.ts, unchanged):
 *   blank → fixation → image → mask, every change inside a requestAnimationFrame callback, each
 *   trial's files loaded and decoded as on the participant page (experiment/stimulus-loader.ts);
 * - `timer`: jsPsych's own image-button-response with `stimulus_duration`, which hides the image
 *   from a setTimeout started when the trial's DOM is built.
 * The page only drives the trials; what was on screen is recorded by frame-observer.ts.
 */
import { initJsPsych } from 'jspsych';
import ImageButtonResponsePlugin from '@jspsych/plugin-image-button-response';
import PreloadPlugin from '@jspsych/plugin-preload';
import type { SessionView, TrialRecord } from '../../experiment/contract.ts';
import { imageTrial } from '../../experiment/image-trial.ts';
import { Prefetcher } from '../../experiment/prefetch.ts';
import { decodeImage, StimulusLoader } from '../../experiment/stimulus-loader.ts';
import { stimulusWaitStep } from '../../experiment/stimulus-wait.ts';

export interface TimingPageConfig {
  mode: 'frame-locked' | 'timer';
  trials: number;
  images: string[];
  mask: string;
  timing: SessionView['timing'];
  /** Pause before the page presses Start (frame-locked) and before it answers (both). */
  act_after_ms: number;
}

interface BenchState {
  done: boolean;
  /** The trial's own record of its onsets (frame-locked mode). */
  records: TrialRecord[];
}

const config = JSON.parse(document.getElementById('bench-config')!.textContent!) as TimingPageConfig;
const state: BenchState = { done: false, records: [] };
(window as unknown as { __bench: BenchState }).__bench = state;

const CHOICES = ['airplane', 'bear', 'bicycle', 'bird'];
const afterMs = (ms: number, fn: () => void) => window.setTimeout(fn, ms);
const firstChoice = () => document.querySelector<HTMLButtonElement>('#jspsych-image-button-response-btngroup button');

const view: SessionView = {
  session: 'bench',
  resume_key: 'bench',
  study: { id: 'bench', title: 'Timing bench', modality: 'image' },
  state: 'started',
  choices: CHOICES,
  timing: config.timing,
  trials: [],
  answered: [],
  screening_last_index: null,
  gates_passed: null,
  rest_after: [],
  redirect_url: null,
};

const prefetcher = new Prefetcher(window.fetch.bind(window));
const stimuli = new StimulusLoader(prefetcher, decodeImage);

function frameLockedTrial(index: number): object {
  const trial = imageTrial(
    view,
    { index, phase: 'test', stimulus: config.images[index % config.images.length]!, mask: config.mask },
    (r) => state.records.push(r),
    stimuli,
  );
  const onLoad = trial.on_load;
  return {
    ...trial,
    on_load: () => {
      onLoad();
      const buttons = document.getElementById('jspsych-image-button-response-btngroup')!;
      // Answer once the trial shows its buttons (the end of the mask).
      const watch = new MutationObserver(() => {
        if (!buttons.classList.contains('visible')) return;
        watch.disconnect();
        afterMs(config.act_after_ms, () => firstChoice()?.click());
      });
      watch.observe(buttons, { attributes: true, attributeFilter: ['class'] });
      afterMs(config.act_after_ms, () => document.querySelector<HTMLButtonElement>('.metamer-start')?.click());
    },
  };
}

function timerTrial(index: number): object {
  return {
    type: ImageButtonResponsePlugin,
    stimulus: config.images[index % config.images.length]!,
    choices: CHOICES,
    render_on_canvas: true,
    stimulus_duration: config.timing.stimulus_ms,
    on_load: () => {
      const stimulus = document.getElementById('jspsych-image-button-response-stimulus')!;
      // Answer once the plugin has hidden the image.
      const watch = new MutationObserver(() => {
        if (stimulus.style.visibility !== 'hidden') return;
        watch.disconnect();
        afterMs(config.act_after_ms, () => firstChoice()?.click());
      });
      watch.observe(stimulus, { attributes: true, attributeFilter: ['style'] });
    },
  };
}

const jsPsych = initJsPsych({ display_element: document.getElementById('jspsych-target')!, on_finish: () => void (state.done = true) });
const timeline: object[] = [];
if (config.mode === 'frame-locked') {
  for (let i = 0; i < config.trials; i++) {
    stimuli.add(i, [config.images[i % config.images.length]!, config.mask]);
    timeline.push(stimulusWaitStep(jsPsych, stimuli, prefetcher, i, 'image'), frameLockedTrial(i));
  }
  stimuli.start();
} else {
  timeline.push({ type: PreloadPlugin, images: [...config.images, config.mask] });
  for (let i = 0; i < config.trials; i++) timeline.push(timerTrial(i));
}
void jsPsych.run(timeline as Parameters<typeof jsPsych.run>[0]);
