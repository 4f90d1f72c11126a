/**
 * The step before every trial (and before the headphone check's volume sound): it goes on at once
 * when the trial's files are decoded (stimulus-loader.ts). Otherwise it waits for them — a blank
 * screen for the first moment, as between any two trials, then a message saying what the page is
 * waiting for — and records the wait as the trial's `wait_ms`, so that a trial is never shown with
 * part of its stimulus missing and the data say which trials kept the participant waiting.
 */
import type { JsPsych } from 'jspsych';
import CallFunctionPlugin from '@jspsych/plugin-call-function';
import { escapeHtml, showMessage } from './messages.ts';
import type { Prefetcher } from './prefetch.ts';
import type { StimulusKey, StimulusLoader } from './stimulus-loader.ts';

/** A wait shorter than this shows nothing: a message flashing up and away would only distract. */
const QUIET_MS = 250;

type Loader = Pick<StimulusLoader<unknown>, 'ready' | 'isReady' | 'noteWait'>;

export function stimulusWaitStep(
  jsPsych: JsPsych,
  loader: Loader,
  prefetcher: Pick<Prefetcher, 'onRetry'>,
  key: StimulusKey,
  what: 'image' | 'sound',
) {
  return {
    type: CallFunctionPlugin,
    async: true,
    func: (done: () => void) => {
      const since = performance.now();
      const decoded = loader.ready(key);
      if (loader.isReady(key)) {
        loader.noteWait(key, 0);
        return done();
      }
      const el = jsPsych.getDisplayElement();
      const timer = setTimeout(
        () =>
          showMessage(
            el,
            `Loading the next ${what}…`,
            `The connection is slower than the study at the moment: the trial starts as soon as the ${what} has arrived.`,
          ),
        QUIET_MS,
      );
      const unsubscribe = prefetcher.onRetry(() => {
        clearTimeout(timer);
        showMessage(
          el,
          'Waiting for the connection…',
          'The connection dropped. Please keep this page open: the study goes on by itself when it is back, and your answers so far are saved.',
        );
      });
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      decoded.then(
        () => {
          finish();
          loader.noteWait(key, Math.round(performance.now() - since));
          done();
        },
        (e: unknown) => {
          finish();
          jsPsych.abortExperiment(
            `<main class="message"><h1>The study could not load</h1><p>${escapeHtml(e instanceof Error ? e.message : String(e))}</p><p>Please reload this page: your answers so far are saved. If this happens again, contact the researcher through Prolific.</p></main>`,
          );
        },
      );
    },
  };
}
