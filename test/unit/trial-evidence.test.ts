// @vitest-environment jsdom
/**
 * The page's per-trial evidence and automation signs under jsdom: visibility, full screen and
 * script-dispatched input as the document reports them, the AudioContext's clock and latencies
 * (WebAudio replaced by test/support/web-audio-stand-in.ts), the frames each step of a frame
 * sequence stayed on screen (a hand-driven requestAnimationFrame), and the names automation drivers
 * leave in a page. What a real Chromium reports for an honest participant is checked in
 * test/e2e/quality-flags.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clickTarget, startTimeline } from '@jspsych/test-utils';
import { initJsPsych, type JsPsych } from 'jspsych';
import type { ClientTrial, SessionView, TrialRecord } from '../../experiment/contract.ts';
import { audioTrial } from '../../experiment/audio-trial.ts';
import { resumeAudioOnGestures } from '../../experiment/audio-unlock.ts';
import { automationSigns } from '../../experiment/automation-signs.ts';
import { runFrameSequence } from '../../experiment/frame-sequence.ts';
import { trackTrialEvidence, trialEvidence } from '../../experiment/trial-evidence.ts';
import { FakeAudioContext, installFakeAudioContext, serveClip, type ClipServer } from '../support/web-audio-stand-in.ts';

let visibility: DocumentVisibilityState = 'visible';
let fullscreenElement: Element | null = null;
let audioContext: () => AudioContext | null = () => null;
let clip: ClipServer;

beforeAll(async () => {
  // jsdom has neither a hidden state nor a Fullscreen API: the test plays the browser's part.
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  Object.defineProperty(document, 'fullscreenElement', { configurable: true, get: () => fullscreenElement });
  trackTrialEvidence({ fullscreen: true, audioContext: () => audioContext() });
  clip = await serveClip(0.05);
});
afterAll(() => clip.close());
beforeEach(() => {
  visibility = 'visible';
  fullscreenElement = document.documentElement;
  audioContext = () => null;
});

function hide(then: DocumentVisibilityState = 'visible') {
  visibility = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
  visibility = then;
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('trial evidence', () => {
  it('says whether the page was hidden between the start of the trial and its end', () => {
    const before = trialEvidence();
    hide();
    before.begin();
    expect(before.finish().page_hidden).toBe(false);

    const during = trialEvidence();
    during.begin();
    hide();
    expect(during.finish().page_hidden).toBe(true);

    const atEnd = trialEvidence();
    atEnd.begin();
    visibility = 'hidden';
    expect(atEnd.finish().page_hidden).toBe(true);
  });

  it('says whether full screen was left during the trial, or never held', () => {
    const kept = trialEvidence();
    kept.begin();
    expect(kept.finish({ stimulus_frames: 18, stimulus_target_ms: 300 })).toEqual({
      stimulus_frames: 18,
      stimulus_target_ms: 300,
      page_hidden: false,
      left_fullscreen: false,
      untrusted_events: 0,
    });

    const left = trialEvidence();
    left.begin();
    fullscreenElement = null;
    document.dispatchEvent(new Event('fullscreenchange'));
    fullscreenElement = document.documentElement;
    document.dispatchEvent(new Event('fullscreenchange'));
    expect(left.finish().left_fullscreen).toBe(true);

    fullscreenElement = null;
    const never = trialEvidence();
    never.begin();
    expect(never.finish().left_fullscreen).toBe(true);
  });

  it('counts clicks and key presses a script dispatched during the trial', () => {
    document.body.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const e = trialEvidence();
    e.begin();
    const button = document.body.appendChild(document.createElement('button'));
    button.click();
    button.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(e.finish().untrusted_events).toBe(2);
  });

  it('records when a sound starts on the AudioContext clock, its state and its latencies', () => {
    const context = { currentTime: 12.3456789, state: 'running', outputLatency: 0.02134, baseLatency: 0.005333 };
    audioContext = () => context as unknown as AudioContext;
    const e = trialEvidence();
    e.begin();
    e.soundStarted();
    expect(e.finish()).toMatchObject({
      audio_start_s: 12.345679,
      audio_state: 'running',
      audio_output_latency_ms: 21.3,
      audio_base_latency_ms: 5.3,
    });
    // Safari reports no outputLatency: the field is left out rather than invented.
    audioContext = () => ({ currentTime: 1, state: 'suspended' }) as unknown as AudioContext;
    const safari = trialEvidence();
    safari.soundStarted();
    const ev = safari.finish();
    expect(ev.audio_state).toBe('suspended');
    expect('audio_output_latency_ms' in ev).toBe(false);
  });

  it('an audio trial carries the sound start of the context that played it', async () => {
    installFakeAudioContext();
    document.body.innerHTML = '<div id="jspsych-target"></div>';
    const jsPsych: JsPsych = initJsPsych({ display_element: document.getElementById('jspsych-target')! });
    audioContext = () => jsPsych.pluginAPI.audioContext();
    resumeAudioOnGestures(jsPsych);
    const view = {
      session: 's',
      resume_key: 'resume-key-of-the-test',
      study: { id: 'study', title: 'Study', modality: 'audio' },
      state: 'started',
      choices: ['bear', 'car'],
      timing: { blank_ms: 0, fixation_ms: 0, stimulus_ms: 0, mask_ms: 0 },
      trials: [],
      answered: [],
      screening_last_index: null,
      gates_passed: null,
      rest_after: [],
      redirect_url: null,
    } satisfies SessionView;
    const records: TrialRecord[] = [];
    const trial: ClientTrial = { index: 0, phase: 'test', stimulus: clip.url };
    const { finished } = await startTimeline([audioTrial(view, trial, (r) => records.push(r))], jsPsych);
    await clickTarget(document.querySelector('#jspsych-html-button-response-btngroup button')!);
    const buttons = () => [...document.querySelectorAll<HTMLButtonElement>('#jspsych-audio-button-response-btngroup button')];
    for (let i = 0; i < 400 && !(buttons().length === 2 && !buttons()[0]!.disabled); i++) await new Promise((r) => setTimeout(r, 5));
    await clickTarget(buttons()[0]!);
    await finished;
    const context = FakeAudioContext.last!;
    expect(records[0]!.evidence).toMatchObject({ audio_state: 'running', page_hidden: false, left_fullscreen: false });
    // The start is the context's time when the sound started: before the response, after zero.
    expect(records[0]!.evidence!.audio_start_s).toBeGreaterThanOrEqual(0);
    expect(records[0]!.evidence!.audio_start_s).toBeLessThanOrEqual(context.currentTime - records[0]!.rt_ms! / 1000 + 0.01);
  });
});

describe('frames per step of a frame sequence', () => {
  it('counts the frames each step stayed on screen', async () => {
    const callbacks: ((t: number) => void)[] = [];
    const raf = (cb: (t: number) => void) => callbacks.push(cb);
    const shown: string[] = [];
    const done = runFrameSequence(
      [
        { show: () => shown.push('fixation'), ms: 50 },
        { show: () => shown.push('stimulus'), ms: 100 },
        { show: () => shown.push('choices'), ms: 0 },
      ],
      raf,
    );
    let result: Awaited<typeof done> | null = null;
    void done.then((r) => (result = r));
    // A 60 Hz display: fire each frame's callbacks until the sequence ends.
    for (let frame = 0; frame < 100 && result === null; frame++) {
      for (const cb of callbacks.splice(0)) cb((frame * 1000) / 60);
      await Promise.resolve();
    }
    expect(shown).toEqual(['fixation', 'stimulus', 'choices']);
    expect(result!.frames).toEqual([3, 6, 0]);
    expect(result!.onsets[2]! - result!.onsets[1]!).toBeCloseTo(100, 6);
  });
});

describe('automation signs', () => {
  it('reports nothing for a plain page, and names what drivers leave behind', () => {
    const clean = automationSigns();
    expect(clean.automation_globals).toEqual([]);
    const w = window as unknown as Record<string, unknown>;
    w.callPhantom = () => {};
    w.cdc_adoQpoasnfa76pfcZLmcfl_Array = Array;
    (document as unknown as Record<string, unknown>).__webdriver_evaluate = () => {};
    document.documentElement.setAttribute('webdriver', '');
    Object.defineProperty(navigator, 'webdriver', { configurable: true, get: () => true });
    try {
      expect(automationSigns()).toEqual({
        webdriver: true,
        automation_globals: ['callPhantom', 'document.__webdriver_evaluate', 'html[webdriver]', 'cdc_adoQpoasnfa76pfcZLmcfl_Array'],
      });
    } finally {
      delete w.callPhantom;
      delete w.cdc_adoQpoasnfa76pfcZLmcfl_Array;
      delete (document as unknown as Record<string, unknown>).__webdriver_evaluate;
      document.documentElement.removeAttribute('webdriver');
    }
  });
});
