/**
 * The headphone check that opens an audio session (docs/audio-studies.md): a volume-setting sound
 * the participant may play as often as they like, then the check's trials (three intervals each,
 * answered with the buttons 1, 2, 3 by audio-trial.ts), then the gate (gate-step.ts).
 *
 * The volume-setting sound is not a trial: it has no answer, may be replayed, and a participant who
 * reloads hears it again; the server stores only the check's trials (phase `headphone`).
 */
import type { JsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import type { SessionView } from './contract.ts';

type HeadphoneInfo = NonNullable<SessionView['headphone']>;

const TASK: Record<HeadphoneInfo['test'], { question: string; intro: string }> = {
  antiphase: {
    question: '<p class="metamer-question">Which sound was the <b>quietest</b>: 1, 2 or 3?</p>',
    intro: 'Each check plays three tones, one after the other. Tell us which one was the <b>quietest</b>.',
  },
  huggins: {
    question: '<p class="metamer-question">Which noise had the <b>hidden tone</b> in it: 1, 2 or 3?</p>',
    intro: 'Each check plays three bursts of noise, one after the other. One of them has a faint tone hidden in it: tell us which one.',
  },
};

/** The question of the check's trials; audio-trial.ts places it above the buttons 1, 2, 3. */
export function headphoneQuestion(test: HeadphoneInfo['test']): string {
  return TASK[test].question;
}

export const CALIBRATION_PLAY_ID = 'metamer-calibration-play';

/** The volume-setting page: Continue opens once the sound has been heard to the end. */
export function calibrationStep(jsPsych: JsPsych, headphone: HeadphoneInfo, trials: number) {
  let player: Awaited<ReturnType<JsPsych['pluginAPI']['getAudioPlayer']>> | null = null;
  let playing = false;
  return {
    type: HtmlButtonResponsePlugin,
    stimulus: `<h2>Sound check</h2>
<p>Please put on your <b>headphones</b> now and sit somewhere quiet.</p>
<p>Press <b>Play sound</b> and set your device's volume so that the sound is clear and comfortable. You can play it as often as you like.</p>
<p><button type="button" id="${CALIBRATION_PLAY_ID}" class="jspsych-btn">Play sound</button></p>
<p>Then ${trials} short checks make sure the sound reaches you through headphones. ${TASK[headphone.test].intro} Each plays only once, so listen closely.</p>`,
    choices: ['Continue'],
    css_classes: ['metamer-text'],
    on_load: () => {
      const play = document.getElementById(CALIBRATION_PLAY_ID) as HTMLButtonElement;
      const next = document.querySelector<HTMLButtonElement>('#jspsych-html-button-response-btngroup button')!;
      next.disabled = true;
      let started = false;
      const ended = () => {
        playing = false;
        play.disabled = false;
        play.textContent = 'Play again';
        next.disabled = false;
      };
      play.addEventListener('click', async () => {
        play.disabled = true;
        // This click is a user gesture: the moment a suspended AudioContext may start.
        const context = jsPsych.pluginAPI.audioContext();
        if (context && context.state !== 'running') await context.resume();
        player ??= await jsPsych.pluginAPI.getAudioPlayer(headphone.calibration);
        // A WebAudio source plays once; stop() gives the player a fresh one (and its listeners go with the old).
        if (started) player.stop();
        player.addEventListener('ended', ended);
        player.play();
        started = true;
        playing = true;
        play.textContent = '▶ Playing…';
      });
    },
    on_finish: () => {
      if (playing) player?.stop();
    },
  };
}
