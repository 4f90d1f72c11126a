/**
 * The network bench's baseline: the same study as the participant page — a session started on the
 * same server, the same trials (experiment/image-trial.ts, audio-trial.ts, unchanged), each answer
 * posted to the same API — loaded the way jsPsych's own preload plugin does it: before each block
 * of trials (the study's rest breaks cut the blocks: jsPsych's documented "preloading in batches"),
 * a preload trial that fetches and decodes every file of the block. A greeting with one button
 * comes first, so that the first click is the participant's, as on the participant page.
 */
import { initJsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import PreloadPlugin from '@jspsych/plugin-preload';
import type { ClientTrial, SessionView, TrialRecord } from '../../experiment/contract.ts';
import { audioTrial } from '../../experiment/audio-trial.ts';
import { imageTrial } from '../../experiment/image-trial.ts';

export interface BaselineConfig {
  study: string;
  pid: string;
}

interface BaselineState {
  view: SessionView | null;
}

const config = JSON.parse(document.getElementById('bench-config')!.textContent!) as BaselineConfig;
const state: BaselineState = { view: null };
(window as unknown as { __baseline: BaselineState }).__baseline = state;

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function main(): Promise<void> {
  const view = (await (
    await post(`/api/studies/${encodeURIComponent(config.study)}/sessions`, { prolific_pid: config.pid })
  ).json()) as SessionView;
  state.view = view;
  const jsPsych = initJsPsych({ display_element: document.getElementById('jspsych-target')! });
  const save = (record: TrialRecord) => void post(`/api/sessions/${view.session}/trials`, record);
  const timeline: object[] = [{ type: HtmlButtonResponsePlugin, stimulus: `<h2>${view.study.title}</h2>`, choices: ['Begin'] }];
  const restAfter = new Set(view.rest_after);
  let block: ClientTrial[] = [];
  const flush = () => {
    const files = [...new Set(block.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])))];
    timeline.push({
      type: PreloadPlugin,
      [view.study.modality === 'image' ? 'images' : 'audio']: files,
      show_progress_bar: true,
      max_load_time: null,
    });
    for (const t of block) {
      timeline.push(view.study.modality === 'image' ? imageTrial(view, t, save) : audioTrial(view, t, save));
      if (restAfter.has(t.index)) {
        timeline.push({ type: HtmlButtonResponsePlugin, stimulus: '<h2>Time for a short break</h2>', choices: ['Continue'] });
      }
    }
    block = [];
  };
  for (const t of view.trials) {
    block.push(t);
    if (restAfter.has(t.index)) flush();
  }
  if (block.length > 0) flush();
  await jsPsych.run(timeline as Parameters<typeof jsPsych.run>[0]);
}

void main();
