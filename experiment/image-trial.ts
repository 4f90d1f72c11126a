/**
 * One image trial as in the paper (docs/design.md §5): the participant starts it → blank → fixation "+" →
 * image → noise mask → category buttons. It runs inside @jspsych/plugin-image-button-response:
 * the plugin draws the (preloaded) image and the buttons; `on_load` stacks fixation, image, mask and
 * the study's question in one stage of fixed size and drives them frame by frame, and keeps the
 * buttons hidden (but in place) until the mask ends; then the question shows where the image was,
 * above the buttons. Nothing on the page moves during a trial or from one trial to the next.
 */
import ImageButtonResponsePlugin from '@jspsych/plugin-image-button-response';
import type { ClientTrial, SessionView, TrialRecord } from './contract.ts';
import { runFrameSequence } from './frame-sequence.ts';
import type { TrialStimuli } from './stimulus-loader.ts';
import { choiceButton } from './choice-button.ts';
import { trialEvidence } from './trial-evidence.ts';

export function imageTrial(view: SessionView, t: ClientTrial, onDone: (record: TrialRecord) => void, stimuli?: TrialStimuli) {
  const timing = view.timing;
  const times: Partial<Record<string, number>> = {};
  let frameMs = 0;
  let stimulusFrames: number | undefined;
  const evidence = trialEvidence();
  return {
    type: ImageButtonResponsePlugin,
    stimulus: t.stimulus,
    choices: view.choices,
    button_html: choiceButton,
    render_on_canvas: true,
    button_layout: 'grid',
    grid_rows: null,
    grid_columns: Math.min(4, view.choices.length),
    css_classes: ['metamer-trial', 'metamer-image-trial'],
    data: { trial_index: t.index, phase: t.phase },
    on_load: () => {
      // Not secret (the order is the plan's); lets people and tests see which trial this is.
      document.getElementById('jspsych-target')!.dataset.trialIndex = String(t.index);
      const canvas = document.getElementById('jspsych-image-button-response-stimulus')!;
      const buttons = document.getElementById('jspsych-image-button-response-btngroup')!;
      const stage = document.createElement('div');
      stage.className = 'metamer-stage';
      canvas.parentElement!.insertBefore(stage, canvas);
      const fixation = document.createElement('div');
      fixation.className = 'metamer-fixation';
      fixation.textContent = '+';
      const mask = document.createElement('img');
      mask.className = 'metamer-mask';
      mask.alt = '';
      if (t.mask) mask.src = t.mask;
      const question = document.createElement('p');
      question.className = 'metamer-question';
      question.textContent = view.study?.question ?? '';
      const start = document.createElement('button');
      start.className = 'jspsych-btn metamer-start';
      start.type = 'button';
      start.textContent = 'Start trial';
      stage.append(canvas, fixation, mask, question, start);
      // The plugin draws at once only if the browser still holds the image decoded; the loader's
      // decoded copy is drawn too, so the canvas never waits for a load of its own.
      stimuli?.paint(canvas as HTMLCanvasElement, t.stimulus);
      for (const b of buttons.querySelectorAll('button')) b.disabled = true;
      // Capture phase: runs before the plugin's own handler ends the trial.
      buttons.addEventListener('click', () => (times.response ??= performance.now()), { capture: true });

      const layers = [canvas, fixation, mask, question];
      const only = (el: HTMLElement | null) => () => {
        for (const l of layers) l.classList.toggle('visible', l === el);
      };
      const begin = () => {
        start.remove();
        document.removeEventListener('keydown', onKey);
        times.started = performance.now();
        evidence.begin();
        void runFrameSequence([
          { show: only(null), ms: timing.blank_ms },
          { show: only(fixation), ms: timing.fixation_ms },
          { show: only(canvas), ms: t.stimulus_ms ?? timing.stimulus_ms },
          { show: only(t.mask ? mask : null), ms: t.mask ? timing.mask_ms : 0 },
          {
            show: () => {
              only(question)();
              buttons.classList.add('visible');
              for (const b of buttons.querySelectorAll('button')) b.disabled = false;
            },
            ms: 0,
          },
        ]).then(({ onsets, frameMs: f, frames }) => {
          stimulusFrames = frames[2];
          [, times.fixation_onset, times.stimulus_onset, times.mask_onset, times.choices_onset] = onsets;
          times.stimulus_offset = times.mask_onset;
          times.mask_offset = times.choices_onset;
          frameMs = f;
        });
      };
      const onKey = (e: KeyboardEvent) => {
        if (e.key === ' ' || e.key === 'Enter') {
          e.preventDefault();
          begin();
        }
      };
      start.addEventListener('click', begin);
      document.addEventListener('keydown', onKey);
      start.focus();
    },
    on_finish: (data: { response: number | null }) => {
      const response = data.response === null ? null : (view.choices[data.response] ?? null);
      const rt = times.response !== undefined && times.choices_onset !== undefined ? times.response - times.choices_onset : null;
      const record: TrialRecord = {
        trial_index: t.index,
        response,
        rt_ms: rt === null ? null : Math.round(rt * 10) / 10,
        timings: {
          started: times.started,
          fixation_onset: times.fixation_onset,
          stimulus_onset: times.stimulus_onset,
          stimulus_offset: times.stimulus_offset,
          mask_onset: t.mask ? times.mask_onset : undefined,
          mask_offset: t.mask ? times.mask_offset : undefined,
          choices_onset: times.choices_onset,
          response: times.response,
          frame_ms: frameMs,
          wait_ms: stimuli?.waitMs(t.index),
        },
        evidence: evidence.finish({ stimulus_frames: stimulusFrames, stimulus_target_ms: t.stimulus_ms ?? timing.stimulus_ms }),
      };
      onDone(record);
    },
  };
}
