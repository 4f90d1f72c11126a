/**
 * The load-time baseline of the page bench: a hello-world jsPsych 8 page (a greeting with one
 * button), then what any image study does before its first trial — preload the first block's
 * files (the same files the participant page loads first, listed in the HTML) and show an image
 * trial. Served by a bare node:http server.
 */
import { initJsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import ImageButtonResponsePlugin from '@jspsych/plugin-image-button-response';
import PreloadPlugin from '@jspsych/plugin-preload';

const { files, choices } = JSON.parse(document.getElementById('hello-config')!.textContent!) as { files: string[]; choices: string[] };
const jsPsych = initJsPsych({ display_element: document.getElementById('jspsych-target')! });
void jsPsych.run([
  { type: HtmlButtonResponsePlugin, stimulus: '<h2>Hello, world</h2>', choices: ['Begin'] },
  { type: PreloadPlugin, images: files, show_progress_bar: true },
  { type: ImageButtonResponsePlugin, stimulus: files[0]!, choices, button_layout: 'grid', grid_rows: null, grid_columns: 4 },
]);
