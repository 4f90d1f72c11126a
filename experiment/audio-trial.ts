/**
 * One audio trial with a small choice set: the participant presses Play (a fresh user gesture, so
 * the AudioContext may run), the clip plays once through WebAudio, and the buttons are enabled when
 * it ends. Studies with many choices (`response_mode: typed`) use the typed-response plugin
 * instead; headphone-check trials bring their own choices (the interval labels) and question.
 */
import AudioButtonResponsePlugin from '@jspsych/plugin-audio-button-response';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import type { ClientTrial, SessionView, TrialRecord } from './contract.ts';
import TypedResponsePlugin, { type TypedResponseData } from './plugins/typed-response.ts';
import { headphoneQuestion } from './headphone-check.ts';
import { questionAboveButtons, questionHtml } from './question-layout.ts';
import type { TrialStimuli } from './stimulus-loader.ts';
import { choiceButton } from './choice-button.ts';
import { trialEvidence } from './trial-evidence.ts';

/** Not secret (the order is the plan's); lets people and tests see which trial this is. */
function markTrial(t: ClientTrial): void {
  const target = document.getElementById('jspsych-target');
  if (target) target.dataset.trialIndex = String(t.index);
}

/** How long the trial waited for its sound (when a loader ran it): an audio trial's only timing. */
function waitTimings(stimuli: TrialStimuli | undefined, t: ClientTrial): Pick<TrialRecord, 'timings'> {
  const wait = stimuli?.waitMs(t.index);
  return wait === undefined ? {} : { timings: { wait_ms: wait } };
}

function typedTrial(view: SessionView, t: ClientTrial, onDone: (record: TrialRecord) => void, stimuli?: TrialStimuli) {
  const evidence = trialEvidence();
  return {
    type: TypedResponsePlugin,
    stimulus: t.stimulus,
    choices: view.choices,
    prompt:
      questionHtml(view.study?.question ?? 'What did you hear?') +
      '<p class="metamer-listen">Press Play and listen: the sound plays once. ' +
      'Then type what you heard and pick it from the suggestions.</p>',
    css_classes: ['metamer-trial'],
    data: { trial_index: t.index, phase: t.phase },
    on_load: () => {
      markTrial(t);
      evidence.begin();
      // After the plugin's own Play handler, which starts the sound in the same task when the context runs.
      document.getElementById('jspsych-typed-response-play')?.addEventListener('click', () => evidence.soundStarted(), { once: true });
    },
    on_finish: (data: TypedResponseData) => {
      onDone({
        trial_index: t.index,
        response: data.response,
        // From sound onset, on the AudioContext clock.
        rt_ms: data.rt,
        ...waitTimings(stimuli, t),
        extra: { keystrokes: data.keystrokes, used_suggestion: data.used_suggestion },
        evidence: evidence.finish(),
      });
    },
  };
}

export function audioTrial(view: SessionView, t: ClientTrial, onDone: (record: TrialRecord) => void, stimuli?: TrialStimuli) {
  if (view.response_mode === 'typed' && t.phase !== 'headphone') return typedTrial(view, t, onDone, stimuli);
  const choices = t.choices ?? view.choices;
  const evidence = trialEvidence();
  // The server always sends the study's question; a view made by hand may carry no study texts.
  const question = questionHtml(view.study?.question ?? 'What did you hear?');
  const prompt = t.phase === 'headphone' && view.headphone ? headphoneQuestion(view.headphone.test) : question;
  return {
    timeline: [
      {
        type: HtmlButtonResponsePlugin,
        stimulus:
          t.phase === 'headphone'
            ? '<p class="metamer-listen">Press Play, then listen: three sounds, one after the other.</p>'
            : '<p class="metamer-listen">Press Play, then listen.</p>',
        choices: ['Play'],
        css_classes: ['metamer-trial'],
      },
      {
        type: AudioButtonResponsePlugin,
        stimulus: t.stimulus,
        choices,
        button_html: choiceButton,
        prompt,
        response_allowed_while_playing: false,
        button_layout: 'grid',
        grid_rows: null,
        grid_columns: Math.min(4, choices.length),
        css_classes: ['metamer-trial'],
        data: { trial_index: t.index, phase: t.phase },
        on_load: () => {
          markTrial(t);
          questionAboveButtons(document, 'jspsych-audio-button-response-btngroup');
          // The plugin calls on_load right before it reads the context's clock and plays the sound.
          evidence.begin();
          evidence.soundStarted();
        },
        on_finish: (data: { response: number | null; rt: number | null }) => {
          onDone({
            trial_index: t.index,
            response: data.response === null ? null : (choices[data.response] ?? null),
            // The plugin measures from sound onset on the AudioContext clock.
            rt_ms: data.rt,
            ...waitTimings(stimuli, t),
            evidence: evidence.finish(),
          });
        },
      },
    ],
  };
}
