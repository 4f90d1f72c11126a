/**
 * The size baseline of the page bench: a plain jsPsych 8 page using seven official plugins, each
 * in the timeline so that none is dropped as unused. Bundled with the participant page's esbuild
 * settings; never served.
 */
import { initJsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import HtmlKeyboardResponsePlugin from '@jspsych/plugin-html-keyboard-response';
import ImageButtonResponsePlugin from '@jspsych/plugin-image-button-response';
import AudioButtonResponsePlugin from '@jspsych/plugin-audio-button-response';
import PreloadPlugin from '@jspsych/plugin-preload';
import FullscreenPlugin from '@jspsych/plugin-fullscreen';
import BrowserCheckPlugin from '@jspsych/plugin-browser-check';

const jsPsych = initJsPsych();
void jsPsych.run([
  { type: BrowserCheckPlugin },
  { type: FullscreenPlugin, fullscreen_mode: true },
  { type: PreloadPlugin, images: ['a.png'], audio: ['a.wav'] },
  { type: HtmlButtonResponsePlugin, stimulus: '<p>Hello</p>', choices: ['Go'] },
  { type: HtmlKeyboardResponsePlugin, stimulus: '+', choices: 'NO_KEYS', trial_duration: 500 },
  { type: ImageButtonResponsePlugin, stimulus: 'a.png', choices: ['a', 'b'] },
  { type: AudioButtonResponsePlugin, stimulus: 'a.wav', choices: ['a', 'b'] },
]);
