// @vitest-environment jsdom
/**
 * The participant page's side of "no answer before the response is stored" under jsdom: practice
 * feedback comes from the acknowledgement of the stored response (experiment/practice-feedback.ts),
 * the page says what happens while the answer waits offline, and category names never become markup.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clickTarget, flushPromises, startTimeline } from '@jspsych/test-utils';
import { initJsPsych } from 'jspsych';
import type { ClientTrial, SessionView, TrialAck, TrialRecord } from '../../experiment/contract.ts';
import { audioTrial } from '../../experiment/audio-trial.ts';
import { PracticeFeedback } from '../../experiment/practice-feedback.ts';
import type { QueueStatus } from '../../experiment/saving-queue.ts';
import { installFakeAudioContext, serveClip, type ClipServer } from '../support/web-audio-stand-in.ts';
import { until } from '../support/until.ts';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

let clip: ClipServer;
beforeAll(async () => {
  clip = await serveClip(0.03);
});
afterAll(() => clip.close());
beforeEach(() => {
  installFakeAudioContext();
  document.body.innerHTML = '';
});

/** A saving queue as the feedback step sees it: acknowledgements and connection status, sent by the test. */
function fakeQueue() {
  const acks: ((index: number, ack: TrialAck) => void)[] = [];
  const statuses: ((s: QueueStatus) => void)[] = [];
  return {
    onAck: (l: (index: number, ack: TrialAck) => void) => {
      acks.push(l);
      return () => {};
    },
    onStatus: (l: (s: QueueStatus) => void) => void statuses.push(l),
    ack: (index: number, ack: TrialAck) => {
      for (const l of acks) l(index, ack);
    },
    status: (s: Partial<QueueStatus>) => {
      for (const l of statuses) l({ pending: 1, retrying: false, lastError: null, ended: false, ...s });
    },
  };
}

function target(): HTMLElement {
  const el = document.createElement('div');
  el.id = 'jspsych-target';
  document.body.append(el);
  return el;
}

describe('practice feedback', () => {
  it('waits for the acknowledgement of the stored response and shows its answer, as text', async () => {
    const jsPsych = initJsPsych({ display_element: target() });
    const queue = fakeQueue();
    const feedback = new PracticeFeedback(jsPsych, queue);
    const { finished, getHTML } = await startTimeline([feedback.step(4)], jsPsych);
    expect(getHTML()).toContain('Checking your answer');
    // An acknowledgement of another trial is not this one's.
    queue.ack(3, { stored: 'created', feedback: { correct: true, answer: 'car' } });
    await flushPromises();
    expect(getHTML()).toContain('Checking your answer');
    queue.ack(4, { stored: 'created', feedback: { correct: false, answer: HOSTILE } });
    await until('the feedback', () => getHTML().includes('Not quite'));
    expect(document.querySelector('.feedback img')).toBeNull();
    expect(document.querySelector('.feedback b')!.textContent).toBe(HOSTILE);
    await finished;
  });

  it('uses an acknowledgement that came before the step began', async () => {
    const jsPsych = initJsPsych({ display_element: target() });
    const queue = fakeQueue();
    const feedback = new PracticeFeedback(jsPsych, queue);
    queue.ack(0, { stored: 'duplicate', feedback: { correct: true, answer: 'bear' } });
    const { finished, getHTML } = await startTimeline([feedback.step(0)], jsPsych);
    expect(getHTML()).toContain('Correct!');
    await finished;
  });

  it('while the answer waits offline: says it is kept and will be sent, gives no answer, and goes on', async () => {
    const jsPsych = initJsPsych({ display_element: target() });
    const queue = fakeQueue();
    const feedback = new PracticeFeedback(jsPsych, queue);
    const { finished, getHTML } = await startTimeline([feedback.step(1)], jsPsych);
    queue.status({ retrying: true, lastError: 'Failed to fetch' });
    await until('the note', () => getHTML().includes('kept on this computer'));
    expect(getHTML()).not.toContain('Correct');
    await finished;
  });
});

describe('category names', () => {
  it('are text on the response buttons, never markup', async () => {
    const jsPsych = initJsPsych({ display_element: target() });
    const view = { choices: [HOSTILE, 'car & "dog"'], response_mode: 'buttons', headphone: null } as unknown as SessionView;
    const trial: ClientTrial = { index: 0, phase: 'test', stimulus: clip.url };
    const records: TrialRecord[] = [];
    const { finished } = await startTimeline([audioTrial(view, trial, (r) => records.push(r))], jsPsych);
    await clickTarget(document.querySelector('#jspsych-html-button-response-btngroup button')!);
    await until('the buttons', () => document.querySelectorAll('#jspsych-audio-button-response-btngroup button').length === 2);
    const buttons = [...document.querySelectorAll<HTMLButtonElement>('#jspsych-audio-button-response-btngroup button')];
    expect(buttons.map((b) => b.textContent)).toEqual([HOSTILE, 'car & "dog"']);
    expect(document.querySelector('#jspsych-audio-button-response-btngroup img')).toBeNull();
    await until('the sound to end', () => !buttons[0]!.disabled);
    await clickTarget(buttons[0]!);
    await finished;
    expect(records[0]!.response).toBe(HOSTILE);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });
});
