/**
 * The participant's timeline, built from the session the server gave and what is already done:
 * consent → browser check → fullscreen (images) → [headphone check → its gate (audio)] →
 * instructions → [preload → trials]… with practice feedback, the screening gate, rest breaks, and
 * completion. A reload rebuilds it from the first trial that is neither stored on the server nor
 * waiting in the local queue.
 */
import type { JsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import PreloadPlugin from '@jspsych/plugin-preload';
import FullscreenPlugin from '@jspsych/plugin-fullscreen';
import BrowserCheckPlugin from '@jspsych/plugin-browser-check';
import CallFunctionPlugin from '@jspsych/plugin-call-function';
import type { ClientTrial, SessionView, TrialRecord } from './contract.ts';
import { ApiError, askCompletion } from './api.ts';
import { audioTrial } from './audio-trial.ts';
import { gateStep as makeGateStep } from './gate-step.ts';
import { calibrationStep } from './headphone-check.ts';
import { resumeAudioOnGestures } from './audio-unlock.ts';
import { imageTrial } from './image-trial.ts';
import type { SavingQueue } from './saving-queue.ts';
import { escapeHtml, showMessage } from './messages.ts';
import type { Prefetcher } from './prefetch.ts';
import { PracticeFeedback } from './practice-feedback.ts';

/** jsPsych 8 does not export its timeline types; this is the argument of `jsPsych.run`. */
export type TimelineArray = Parameters<JsPsych['run']>[0] & unknown[];

export interface TimelineContext {
  jsPsych: JsPsych;
  view: SessionView;
  queue: SavingQueue;
  prefetcher: Prefetcher;
  /** Trials already answered (stored or queued). */
  done: Set<number>;
  redirect: (url: string) => void;
}

/** Splits the remaining trials into preload blocks at phase changes and rest breaks. */
function blocks(trials: ClientTrial[], restAfter: Set<number>, gateAfter: number | null): ClientTrial[][] {
  const out: ClientTrial[][] = [];
  let current: ClientTrial[] = [];
  for (const t of trials) {
    const prev = current[current.length - 1];
    const changes = (phase: ClientTrial['phase']) => (prev!.phase === phase) !== (t.phase === phase);
    if (prev && (changes('practice') || changes('headphone'))) {
      out.push(current);
      current = [];
    }
    current.push(t);
    if (restAfter.has(t.index) || t.index === gateAfter) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

const INSTRUCTIONS = {
  image: `<h2>How it works</h2>
<p>On each trial, press <b>Start trial</b> (or the space bar). A cross appears, then an image for a very short time, then a noise pattern.</p>
<p>Then choose the category the image belongs to by clicking one of the buttons. Some images are hard to recognise: give your best guess.</p>
<p>The first trials are practice, and tell you whether you were right. Your answers are saved as you go: if you lose your connection or close the page by accident, open the study link again to continue where you were.</p>`,
  audio: `<h2>How it works</h2>
<p>Please wear headphones and sit somewhere quiet.</p>
<p>On each trial, press <b>Play</b>. You will hear a short sound once. Then choose what you heard by clicking one of the buttons. Some sounds are hard to recognise: give your best guess.</p>
<p>The first trials are practice, and tell you whether you were right. Your answers are saved as you go: if you lose your connection or close the page by accident, open the study link again to continue where you were.</p>`,
  audioTyped: `<h2>How it works</h2>
<p>Please wear headphones and sit somewhere quiet.</p>
<p>On each trial, press <b>Play</b>. You will hear a short sound once. Then type the word you heard: suggestions appear as you type; pick one with the mouse or the arrow keys and Enter. Your answer has to be one of the suggested words. Some sounds are hard to recognise: give your best guess.</p>
<p>The first trials are practice, and tell you whether you were right. Your answers are saved as you go: if you lose your connection or close the page by accident, open the study link again to continue where you were.</p>`,
};

export function buildTimeline(ctx: TimelineContext): TimelineArray {
  const { view, queue, jsPsych } = ctx;
  const remaining = view.trials.filter((t) => !ctx.done.has(t.index));
  const resumed = ctx.done.size > 0;
  const timeline: TimelineArray = [];
  const total = view.trials.length;
  let answered = ctx.done.size;
  // jsPsych creates its progress bar only once the experiment runs.
  const showProgress = () => {
    if (jsPsych.progressBar) jsPsych.progressBar.progress = answered / Math.max(1, total);
  };

  if (!resumed) {
    timeline.push({
      type: HtmlButtonResponsePlugin,
      stimulus: `<h2>${escapeHtml(view.study.title)}</h2>
<p>This is a research study on how people recognise ${view.study.modality === 'image' ? 'images' : 'sounds'}. It takes part in your browser and records your answers and response times, together with a pseudonymous code derived from your Prolific ID.</p>
<p>Taking part is voluntary; you may stop at any time by closing this page and returning the study on Prolific.</p>`,
      choices: ['I agree, continue'],
      css_classes: ['metamer-text'],
      on_start: showProgress,
    });
  } else {
    timeline.push({
      type: HtmlButtonResponsePlugin,
      stimulus: `<h2>Welcome back</h2><p>Your earlier answers are saved. You will continue where you left off.</p>`,
      choices: ['Continue'],
      css_classes: ['metamer-text'],
      on_start: showProgress,
    });
  }
  timeline.push({
    type: BrowserCheckPlugin,
    minimum_width: 640,
    minimum_height: 480,
    // Measuring the refresh rate takes a second nobody uses; the devices need no permission prompt.
    skip_features: ['vsync_rate', 'webcam', 'microphone'],
    window_resize_message: `<p>Your browser window is too small for this study.</p><p>Please enlarge it to at least <span id="browser-check-min-width"></span> × <span id="browser-check-min-height"></span> pixels (it is now <span id="browser-check-actual-width"></span> × <span id="browser-check-actual-height"></span>).</p>`,
    inclusion_function: (data: { webaudio?: boolean }) => view.study.modality !== 'audio' || data.webaudio !== false,
    exclusion_message: () => '<p>Your browser cannot play audio the way this study needs. Please return the study on Prolific, or try again with a recent Chrome, Firefox, Edge or Safari.</p>',
  });
  if (view.study.modality === 'image') {
    timeline.push({
      type: FullscreenPlugin,
      fullscreen_mode: true,
      message: '<p>The study runs in full-screen mode.</p>',
      button_label: 'Switch to full screen',
      // Long enough for the window to settle at its new size (the default waits a full second).
      delay_after: 300,
    });
  }
  // Audio: every click or key press resumes a suspended AudioContext (the consent click is the first).
  if (view.study.modality === 'audio') resumeAudioOnGestures(jsPsych);
  // The task's instructions come before its first trial: after the headphone check, and again for
  // a participant who reloads during the check (they have not seen them yet).
  const instructions = {
    type: HtmlButtonResponsePlugin,
    stimulus: INSTRUCTIONS[view.study.modality === 'audio' && view.response_mode === 'typed' ? 'audioTyped' : view.study.modality],
    choices: ['Begin'],
    css_classes: ['metamer-text'],
  };
  let instructionsDue = !view.trials.some((t) => t.phase !== 'headphone' && ctx.done.has(t.index));

  const gate = view.screening_last_index;
  const headphone = view.headphone ?? null;
  // Each undecided gate is asked before the first remaining trial after its last trial (or before
  // completion): wherever a reload left gaps, no trial past a gate is shown before the gate is asked.
  const pendingGates =
    view.gates_passed === true
      ? []
      : [
          ...(headphone ? [{ last: headphone.last_index, step: makeGateStep(ctx, 'headphone') }] : []),
          ...(gate !== null ? [{ last: gate, step: makeGateStep(ctx, 'screening') }] : []),
        ];
  const gatesBefore = (index: number) => {
    while (pendingGates.length > 0 && pendingGates[0]!.last < index) timeline.push(pendingGates.shift()!.step);
  };

  const restAfter = new Set(view.rest_after);
  const feedback = new PracticeFeedback(jsPsych, queue);
  const onDone = (record: TrialRecord) => {
    queue.enqueue(record);
    answered++;
    showProgress();
  };
  const filesOf = (trials: ClientTrial[]) => [...new Set(trials.flatMap((t) => (t.mask ? [t.stimulus, t.mask] : [t.stimulus])))];
  const allFiles = filesOf(remaining);
  for (const block of blocks(remaining, restAfter, gate)) {
    gatesBefore(block[0]!.index);
    const checking = block[0]!.phase === 'headphone' && headphone !== null;
    if (instructionsDue && !checking) {
      timeline.push(instructions);
      instructionsDue = false;
    }
    const files = checking ? [headphone.calibration, ...filesOf(block)] : filesOf(block);
    // Fetch (with retries) into the HTTP cache first; then jsPsych's preload only decodes.
    timeline.push({
      type: CallFunctionPlugin,
      async: true,
      func: (done: () => void) => {
        const el = jsPsych.getDisplayElement();
        const show = (loaded: number, total: number, waiting: boolean) =>
          showMessage(el, waiting ? 'Waiting for the connection…' : 'Loading the next trials…', `${loaded} of ${total} files${waiting ? ': retrying, please keep this page open' : ''}.`);
        let loaded = 0;
        const unsubscribe = ctx.prefetcher.onRetry(() => show(loaded, files.length, true));
        ctx.prefetcher
          .ensure(files, (p) => {
            loaded = p.loaded;
            show(p.loaded, p.total, false);
          })
          .then(() => {
            unsubscribe();
            // The rest of the study loads quietly while the participant works on this block.
            ctx.prefetcher.background(allFiles);
            done();
          })
          .catch((e: unknown) => {
            unsubscribe();
            jsPsych.abortExperiment(
              `<main class="message"><h1>The study could not load</h1><p>${escapeHtml(e instanceof Error ? e.message : String(e))}</p><p>Please reload this page: your answers so far are saved. If this happens again, contact the researcher through Prolific.</p></main>`,
            );
          });
      },
    });
    timeline.push({
      type: PreloadPlugin,
      [view.study.modality === 'image' ? 'images' : 'audio']: files,
      show_progress_bar: true,
      message: '<p>Loading the next trials…</p>',
      max_load_time: 120_000,
      continue_after_error: false,
      error_message: '<main class="message"><h1>The study could not load</h1><p>Some files could not be decoded. Please reload this page: your answers so far are saved.</p></main>',
    });
    if (checking) timeline.push(calibrationStep(jsPsych, headphone, view.trials.filter((t) => t.phase === 'headphone').length));
    for (const t of block) {
      gatesBefore(t.index);
      timeline.push(view.study.modality === 'image' ? imageTrial(view, t, onDone) : audioTrial(view, t, onDone));
      if (t.phase === 'practice') timeline.push(feedback.step(t.index));
      if (restAfter.has(t.index)) {
        timeline.push({
          type: HtmlButtonResponsePlugin,
          stimulus: '<h2>Time for a short break</h2><p>Rest your eyes for a moment. Continue when you are ready.</p>',
          choices: ['Continue'],
          css_classes: ['metamer-text'],
        });
      }
    }
  }

  gatesBefore(Infinity);
  timeline.push({
    type: CallFunctionPlugin,
    async: true,
    data: { step: 'complete' },
    func: () => {
      const el = jsPsych.getDisplayElement();
      const update = () => showMessage(el, 'Saving your answers…', `${queue.pendingIndices().length} still to send. Please keep this page open.`);
      update();
      queue.onStatus(update);
      void queue
        .drain()
        .then(() => askCompletion(view.session))
        .then(({ redirect_url }) => {
          showMessage(el, 'Thank you!', 'All your answers are saved. Taking you back to Prolific…');
          ctx.redirect(redirect_url);
        })
        .catch((e: unknown) => {
          // The session ended at a gate (another tab, a reload): its exit is the screen-out code.
          if (e instanceof ApiError && e.status === 410 && e.body.redirect_url) return ctx.redirect(e.body.redirect_url);
          showMessage(el, 'Something went wrong', `We could not confirm that all your answers arrived (${e instanceof Error ? e.message : String(e)}). Please reload this page; if this message stays, contact the researcher through Prolific.`);
        });
    },
  });
  return timeline;
}
