/**
 * The timeline step after a gate's last trial (the headphone check, the screening block): wait
 * until every answer is stored, ask the server for the verdict, and either go on or end the session
 * kindly and send the participant back to Prolific with the screen-out code.
 */
import type { JsPsych } from 'jspsych';
import CallFunctionPlugin from '@jspsych/plugin-call-function';
import type { GatePhase } from './contract.ts';
import { ApiError, askGate } from './api.ts';
import type { SavingQueue } from './saving-queue.ts';
import { showMessage } from './messages.ts';
import { showExit } from './exit-page.ts';

export interface GateContext {
  jsPsych: JsPsych;
  view: { session: string };
  queue: Pick<SavingQueue, 'drain'>;
  redirect: (url: string) => void;
}

const SCREENED_OUT: Record<GatePhase, string> = {
  headphone:
    'This study needs headphones, and the sound check suggests that the sounds did not reach you through headphones (or were too quiet to tell apart), so the study ends here. This is common and no fault of yours: you will be paid for your time as the study description says.',
  screening:
    'Your answers to the first trials did not reach the level this study needs, so it ends here. This is common and no fault of yours: you will be paid for your time as the study description says.',
};

/** Seconds the thank-you page stays before the browser goes to Prolific by itself. */
const REDIRECT_AFTER_MS = 4000;

export function gateStep(ctx: GateContext, phase: GatePhase) {
  const { jsPsych, view, queue } = ctx;
  return {
    type: CallFunctionPlugin,
    async: true,
    data: { gate: phase },
    func: (done: () => void) => {
      showMessage(jsPsych.getDisplayElement(), 'Checking your answers…', 'One moment, please.');
      void queue
        .drain()
        .then(() => askGate(view.session, phase))
        .then((r) => {
          if (r.passed) return done();
          // The step never calls done(): the session ends on this page, and nothing runs after it.
          const url = r.redirect_url!;
          const page = { heading: 'Thank you for your time', paragraphs: [SCREENED_OUT[phase]], url, redirect: ctx.redirect };
          showExit(jsPsych.getDisplayElement(), { ...page, delayMs: REDIRECT_AFTER_MS });
        })
        .catch((e: unknown) => {
          // Ended already (another tab decided it): the server says where to go.
          if (e instanceof ApiError && e.status === 410 && e.body.redirect_url) {
            const ended = { heading: 'Thank you for your time', paragraphs: ['This session has ended.'] };
            return showExit(jsPsych.getDisplayElement(), { ...ended, url: e.body.redirect_url, redirect: ctx.redirect });
          }
          // Some answers before the gate are not stored (say, refused by a proxy): a reload shows
          // those trials again, then asks the gate.
          showMessage(
            jsPsych.getDisplayElement(),
            'Some answers did not reach us',
            `Please reload this page: it will show the trials that are missing, then continue (${e instanceof Error ? e.message : String(e)}).`,
          );
        });
    },
  };
}
