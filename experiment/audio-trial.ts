/**
 * One audio trial with a small choice set: the participant presses Play (a fresh user gesture, so
 * the AudioContext may run), the clip plays once through WebAudio, and the buttons are enabled when
 * it ends. Studies with many choices use the typed-response plugin instead.
 */
import AudioButtonResponsePlugin from '@jspsych/plugin-audio-button-response';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import type { ClientTrial, SessionView, TrialRecord } from './contract.ts';

export function audioTrial(view: SessionView, t: ClientTrial, onDone: (record: TrialRecord) => void) {
  return {
    timeline: [
      {
        type: HtmlButtonResponsePlugin,
        stimulus: '<p class="metamer-listen">Press Play, then listen.</p>',
        choices: ['Play'],
        css_classes: ['metamer-trial'],
      },
      {
        type: AudioButtonResponsePlugin,
        stimulus: t.stimulus,
        choices: view.choices,
        prompt: '<p>What did you hear?</p>',
        response_allowed_while_playing: false,
        button_layout: 'grid',
        grid_rows: null,
        grid_columns: Math.min(4, view.choices.length),
        css_classes: ['metamer-trial'],
        data: { trial_index: t.index, phase: t.phase },
        on_load: () => {
          document.getElementById('jspsych-target')!.dataset.trialIndex = String(t.index);
        },
        on_finish: (data: { response: number | null; rt: number | null }) => {
          onDone({
            trial_index: t.index,
            response: data.response === null ? null : (view.choices[data.response] ?? null),
            // The plugin measures from sound onset on the AudioContext clock.
            rt_ms: data.rt,
          });
        },
      },
    ],
  };
}
