/**
 * Feedback after a practice trial. The page does not know the answer: the server gives it in the
 * acknowledgement of the stored practice response (TrialAck.feedback), so no answer is known
 * before the response is stored (docs/integrity.md). The step after each practice trial waits for
 * that acknowledgement and says "Correct!" or "Not quite: it was <answer>".
 *
 * While the answer waits in the saving queue (offline, or the server not answering), the step
 * does not hold the participant up: as soon as the queue reports a connection problem, or after
 * WAIT_MS at most, it says the answer is kept on this computer and will be sent, gives no
 * feedback for that trial, and goes on. Practice only teaches the task; a missed feedback costs
 * nothing, and the answer itself is not lost.
 */
import type { JsPsych } from 'jspsych';
import CallFunctionPlugin from '@jspsych/plugin-call-function';
import type { TrialAck } from './contract.ts';
import type { QueueStatus, SavingQueue } from './saving-queue.ts';
import { escapeHtml } from './messages.ts';

/** How long the step waits for the acknowledgement (a stored trial is acknowledged in milliseconds). */
export const WAIT_MS = 4000;
/** How long the feedback stays on screen. */
export const SHOW_MS = 1200;
/** The no-feedback note is longer to read. */
const NOTE_MS = 2500;

type Queue = Pick<SavingQueue, 'onAck' | 'onStatus'>;

export class PracticeFeedback {
  private readonly acks = new Map<number, TrialAck>();
  private readonly waiting = new Map<number, () => void>();
  private connectionProblem = false;
  private readonly problemWaiters = new Set<() => void>();

  constructor(
    private readonly jsPsych: JsPsych,
    queue: Queue,
  ) {
    // Listening from the start: an acknowledgement may come before the feedback step begins.
    queue.onAck((index, ack) => {
      this.acks.set(index, ack);
      this.waiting.get(index)?.();
    });
    queue.onStatus((s: QueueStatus) => {
      this.connectionProblem = s.retrying;
      if (s.retrying) for (const w of this.problemWaiters) w();
    });
  }

  /** Resolves with the trial's acknowledgement, or null on a connection problem or after WAIT_MS. */
  private acknowledgement(index: number): Promise<TrialAck | null> {
    const known = this.acks.get(index);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const finish = (ack: TrialAck | null) => {
        clearTimeout(timer);
        this.waiting.delete(index);
        this.problemWaiters.delete(onProblem);
        resolve(ack);
      };
      const onProblem = () => finish(null);
      const timer = setTimeout(() => finish(null), WAIT_MS);
      this.waiting.set(index, () => finish(this.acks.get(index) ?? null));
      this.problemWaiters.add(onProblem);
      if (this.connectionProblem) onProblem();
    });
  }

  /** The timeline step shown after practice trial `index`. */
  step(index: number) {
    return {
      type: CallFunctionPlugin,
      async: true,
      data: { feedback_for: index },
      func: (done: () => void) => {
        const el = this.jsPsych.getDisplayElement();
        el.innerHTML = '<p class="feedback pending">Checking your answer…</p>';
        void this.acknowledgement(index).then((ack) => {
          const f = ack?.feedback;
          if (!f) {
            el.innerHTML =
              '<p class="feedback saved">Your answer is kept on this computer and will be sent as soon as the connection allows. We can tell you whether it was right only once it has arrived, so there is no feedback for this one.</p>';
            return void setTimeout(done, NOTE_MS);
          }
          el.innerHTML = f.correct
            ? '<p class="feedback correct">Correct!</p>'
            : `<p class="feedback wrong">Not quite: it was <b>${escapeHtml(f.answer)}</b>.</p>`;
          setTimeout(done, SHOW_MS);
        });
      },
    };
  }
}
