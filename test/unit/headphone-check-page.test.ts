// @vitest-environment jsdom
/**
 * The headphone check's browser side under jsdom (WebAudio replaced by test/support/web-audio-stand-in.ts):
 * the volume-setting page, a check trial answered with the interval buttons, and the audio context
 * being resumed by the participant's gestures and by nothing else.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clickTarget, flushPromises, startTimeline } from '@jspsych/test-utils';
import { initJsPsych } from 'jspsych';
import type { ClientTrial, SessionView, TrialRecord } from '../../experiment/contract.ts';
import { audioTrial } from '../../experiment/audio-trial.ts';
import { calibrationStep, CALIBRATION_PLAY_ID } from '../../experiment/headphone-check.ts';
import { resumeAudioOnGestures } from '../../experiment/audio-unlock.ts';
import { FakeAudioContext, installFakeAudioContext, serveClip, type ClipServer } from '../support/web-audio-stand-in.ts';
import { until } from '../support/until.ts';

const CLIP_SECONDS = 0.06;
let clip: ClipServer;
beforeAll(async () => {
  clip = await serveClip(CLIP_SECONDS);
});
afterAll(() => clip.close());
beforeEach(() => {
  installFakeAudioContext();
  document.body.innerHTML = '';
});

function view(extra: Partial<SessionView> = {}): SessionView {
  return {
    session: 's',
    resume_key: 'k',
    study: { id: 'study', title: 'Study', modality: 'audio' },
    state: 'started',
    choices: ['bear', 'car', 'dog', 'knife'],
    timing: { blank_ms: 0, fixation_ms: 0, stimulus_ms: 0, mask_ms: 0 },
    trials: [],
    answered: [],
    screening_last_index: null,
    gates_passed: null,
    rest_after: [],
    redirect_url: null,
    headphone: { test: 'antiphase', calibration: clip.url, last_index: 5 },
    response_mode: 'typed',
    ...extra,
  };
}

describe('volume-setting page', () => {
  it('opens Continue once the sound has been heard, and plays it again on request', async () => {
    const jsPsych = initJsPsych();
    const { finished, getHTML } = await startTimeline(
      [calibrationStep(jsPsych, { test: 'huggins', calibration: clip.url, last_index: 5 }, 6)],
      jsPsych,
    );
    expect(getHTML()).toContain('headphones');
    expect(getHTML()).toContain('hidden');
    const next = document.querySelector<HTMLButtonElement>('#jspsych-html-button-response-btngroup button')!;
    const play = document.getElementById(CALIBRATION_PLAY_ID) as HTMLButtonElement;
    expect(next.disabled).toBe(true);
    const context = FakeAudioContext.last!;
    expect(context.starts).toEqual([]);
    play.click();
    await until('the sound to start', () => context.starts.length === 1);
    expect(context.starts[0]!.state).toBe('running');
    expect(next.disabled).toBe(true);
    await until('the sound to end', () => !next.disabled);
    expect(play.textContent).toBe('Play again');
    // A second play needs a fresh source node; the first would refuse to start again.
    play.click();
    await until('the sound to start again', () => context.starts.length === 2);
    await clickTarget(next);
    await finished;
  });
});

describe('a check trial', () => {
  it('asks the question, offers the interval buttons once the sounds have played, and reports the label', async () => {
    const target = document.createElement('div');
    target.id = 'jspsych-target';
    document.body.append(target);
    const jsPsych = initJsPsych({ display_element: target });
    resumeAudioOnGestures(jsPsych);
    const records: TrialRecord[] = [];
    const trial: ClientTrial = { index: 3, phase: 'headphone', stimulus: clip.url, choices: ['1', '2', '3'] };
    const { finished, getHTML } = await startTimeline([audioTrial(view(), trial, (r) => records.push(r))], jsPsych);
    expect(getHTML()).toContain('three sounds');
    await clickTarget(document.querySelector('#jspsych-html-button-response-btngroup button')!);
    await until('the buttons', () => document.querySelectorAll('#jspsych-audio-button-response-btngroup button').length === 3);
    expect(getHTML()).toContain('quietest');
    const buttons = [...document.querySelectorAll<HTMLButtonElement>('#jspsych-audio-button-response-btngroup button')];
    expect(buttons.map((b) => b.textContent)).toEqual(['1', '2', '3']);
    expect(buttons.every((b) => b.disabled)).toBe(true);
    await until('the sounds to end', () => !buttons[1]!.disabled);
    expect(FakeAudioContext.last!.starts.map((s) => s.state)).toEqual(['running']);
    await clickTarget(buttons[1]!);
    await finished;
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ trial_index: 3, response: '2' });
    expect(records[0]!.rt_ms).toBeGreaterThanOrEqual(CLIP_SECONDS * 1000 - 1);
    expect(target.dataset.trialIndex).toBe('3');
  });
});

describe('resuming the audio context', () => {
  it('happens on the first click or key press, and on nothing else', async () => {
    const jsPsych = initJsPsych();
    const context = FakeAudioContext.last!;
    const asked = vi.spyOn(jsPsych.pluginAPI, 'audioContext');
    resumeAudioOnGestures(jsPsych);
    document.dispatchEvent(new Event('scroll'));
    await flushPromises();
    expect(context.state).toBe('suspended');
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true }));
    expect(context.state).toBe('running');
    // Once it runs, the listeners go away.
    document.body.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const calls = asked.mock.calls.length;
    document.body.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'b', bubbles: true }));
    expect(asked.mock.calls.length).toBe(calls);
  });
});
