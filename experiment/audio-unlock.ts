/**
 * Browsers start an AudioContext suspended until the page has had a user gesture (Chrome's autoplay
 * policy; Safari likewise), and jsPsych makes its context when the page loads, before any gesture.
 * Resuming it on the participant's first click or key press (the consent button) means the first
 * sound starts on time; nothing is played here, so no sound can come before a gesture.
 */
import type { JsPsych } from 'jspsych';

const GESTURES = ['pointerdown', 'keydown', 'touchend', 'click'] as const;

export function resumeAudioOnGestures(jsPsych: JsPsych, target: Document = document): void {
  const onGesture = () => {
    // pluginAPI.audioContext() resumes the context when it is not running; null without WebAudio.
    const context = jsPsych.pluginAPI.audioContext();
    if (!context || context.state === 'running') {
      for (const g of GESTURES) target.removeEventListener(g, onGesture, true);
    }
  };
  for (const g of GESTURES) target.addEventListener(g, onGesture, true);
}
