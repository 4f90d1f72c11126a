/**
 * The participant's timeline, built from the session the server gave and what is already done:
 * consent → fullscreen (images) → [headphone check → its gate (audio)] →
 * instructions → trials (each once its own stimulus is decoded: stimulus-loader.ts)… with practice
 * feedback, the screening gate, rest breaks, and completion. A reload rebuilds it from the first
 * trial that is neither stored on the server nor waiting in the local queue. The device was
 * checked before the session existed (device-gate.ts).
 */
import type { JsPsych } from 'jspsych';
import HtmlButtonResponsePlugin from '@jspsych/plugin-html-button-response';
import FullscreenPlugin from '@jspsych/plugin-fullscreen';
import CallFunctionPlugin from '@jspsych/plugin-call-function';
import type { ClientTrial, SessionView, TrialRecord } from './contract.ts';
import { ApiError, askCompletion } from './api.ts';
import { audioTrial } from './audio-trial.ts';
import { gateStep as makeGateStep } from './gate-step.ts';
import { calibrationStep } from './headphone-check.ts';
import { resumeAudioOnGestures } from './audio-unlock.ts';
import { imageTrial } from './image-trial.ts';
import type { SavingQueue } from './saving-queue.ts';
import { showMessage } from './messages.ts';
import type { Prefetcher } from './prefetch.ts';
import type { DeviceProfile } from './device-check.ts';
import { consentHtml, instructionsHtml } from './participant-texts.ts';
import { showExit } from './exit-page.ts';
import { decodeImage, StimulusLoader, type StimulusKey } from './stimulus-loader.ts';
import { stimulusWaitStep } from './stimulus-wait.ts';
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
  /** What the device check found (null when the page had no brief to check against). */
  device?: DeviceProfile | null;
}

/**
 * Splits the remaining trials into blocks at phase changes and rest breaks; the instructions and
 * the headphone check's volume sound go before the first trial of a block.
 */
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
      stimulus: consentHtml(view),
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
    stimulus: instructionsHtml(view, ctx.device ?? null),
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
  // Stimuli load progressively in the order the timeline needs them; each trial waits only for its own.
  const stimuli =
    view.study.modality === 'image'
      ? new StimulusLoader(ctx.prefetcher, decodeImage)
      : new StimulusLoader(ctx.prefetcher, (url) => jsPsych.pluginAPI.getAudioPlayer(url));
  const waitFor = (key: StimulusKey, files: string[]) => {
    stimuli.add(key, files);
    timeline.push(stimulusWaitStep(jsPsych, stimuli, ctx.prefetcher, key, view.study.modality === 'image' ? 'image' : 'sound'));
  };
  for (const block of blocks(remaining, restAfter, gate)) {
    gatesBefore(block[0]!.index);
    const checking = block[0]!.phase === 'headphone' && headphone !== null;
    if (instructionsDue && !checking) {
      timeline.push(instructions);
      instructionsDue = false;
    }
    if (checking) waitFor('calibration', [headphone.calibration]);
    if (checking) timeline.push(calibrationStep(jsPsych, headphone, view.trials.filter((t) => t.phase === 'headphone').length));
    for (const t of block) {
      gatesBefore(t.index);
      waitFor(t.index, t.mask ? [t.stimulus, t.mask] : [t.stimulus]);
      timeline.push(view.study.modality === 'image' ? imageTrial(view, t, onDone, stimuli) : audioTrial(view, t, onDone, stimuli));
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

  // The first trial's files download while the participant reads the consent page.
  stimuli.start();
  gatesBefore(Infinity);
  timeline.push({
    type: CallFunctionPlugin,
    async: true,
    data: { step: 'complete' },
    func: () => {
      const el = jsPsych.getDisplayElement();
      const update = () =>
        showMessage(el, 'Saving your answers…', `${queue.pendingIndices().length} still to send. Please keep this page open.`);
      update();
      queue.onStatus(update);
      void queue
        .drain()
        .then(() => askCompletion(view.session))
        .then(({ redirect_url }) => {
          showExit(el, { heading: 'Thank you!', paragraphs: ['All your answers are saved.'], url: redirect_url, redirect: ctx.redirect });
        })
        .catch((e: unknown) => {
          // The session ended at a gate (another tab, a reload): its exit is the screen-out code.
          if (e instanceof ApiError && e.status === 410 && e.body.redirect_url) {
            const ended = { heading: 'Thank you for your time', paragraphs: ['This session has ended.'] };
            return showExit(el, { ...ended, url: e.body.redirect_url, redirect: ctx.redirect });
          }
          showMessage(
            el,
            'Something went wrong',
            `We could not confirm that all your answers arrived (${e instanceof Error ? e.message : String(e)}). Please reload this page; if this message stays, contact the researcher through Prolific.`,
          );
        });
    },
  });
  return timeline;
}
