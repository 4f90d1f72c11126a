/**
 * Audio studies in Chromium as in the paper: the headphone check first (volume sound, six
 * antiphase trials, the gate), then trials answered by typing with suggestions (30 categories, more
 * than `typed_response_above`). One participant passes and completes; one fails the check and is
 * screened out. The database holds exactly the trials each one did.
 *
 * Every page is instrumented before its scripts run: each AudioContext's states and every sound
 * started are logged with the page's user-activation flag, so "no sound before a user gesture" is
 * checked, not assumed. One participant runs in a Chromium without the autoplay switch, where an
 * AudioContext made before a gesture really is suspended.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newParticipantContext, type TestBrowser } from '../support/browser.ts';
import { type AnswerPolicy, alwaysRight, driveParticipant } from '../support/participant-driver.ts';
import { COMPLETION_CODE, SCREENOUT_CODE, startTestServer, type TestServer, pidOf } from '../support/test-server.ts';

const WORDS = [
  'anchor',
  'apple',
  'arrow',
  'bell',
  'bird',
  'boat',
  'bottle',
  'bread',
  'bridge',
  'candle',
  'car',
  'cat',
  'chair',
  'clock',
  'cloud',
  'dog',
  'door',
  'drum',
  'egg',
  'fish',
  'flower',
  'guitar',
  'hammer',
  'horse',
  'house',
  'key',
  'lamp',
  'moon',
  'piano',
  'train',
];

interface AudioLog {
  contexts: { event: string; state: string; active: boolean }[];
  starts: { state: string; active: boolean }[];
  /** Text of every message page shown (`main.message`), e.g. the screen-out page. */
  messages: string[];
}

/**
 * Runs in every page before its scripts (plain JavaScript: it is sent to the browser as text). Each
 * entry goes out at once through an exposed function, so the log outlives the redirect to Prolific.
 */
const INSTRUMENT_AUDIO = `(() => {
  const report = (kind, entry) => window.__reportAudio(kind, entry);
  const active = () => navigator.userActivation.hasBeenActive;
  const Native = window.AudioContext;
  window.AudioContext = class extends Native {
    constructor(options) {
      super(options);
      report('contexts', { event: 'created', state: this.state, active: active() });
      this.addEventListener('statechange', () => report('contexts', { event: 'statechange', state: this.state, active: active() }));
    }
  };
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (...args) {
    report('starts', { state: this.context.state, active: active() });
    return start.apply(this, args);
  };
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    report('starts', { state: 'media-element', active: active() });
    return play.call(this);
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1 && n.matches('main.message, main.message *')) report('messages', n.closest('main.message').textContent);
      else if (n.nodeType === 1) for (const m of n.querySelectorAll('main.message')) report('messages', m.textContent);
    }
  }).observe(document, { childList: true, subtree: true });
})();`;

let server: TestServer;
let autoplay: TestBrowser;

beforeAll(async () => {
  server = await startTestServer({
    modality: 'audio',
    set: { categories: WORDS, sourcesPerCategory: 1, practicePerCategory: 1 },
    study: {
      protocol: { practice_trials: 2, screening_trials: 3, screening_min_correct: 2, catch_trials: 1, main_sources: 6 },
    },
  });
  autoplay = await launchChromium({ audio: true });
});
afterAll(async () => {
  await autoplay?.close();
  await server?.dispose();
});

function runUrl(pid: string) {
  return `${server.url}/run/fixture-study?PROLIFIC_PID=${pid}&STUDY_ID=prolific-study&SESSION_ID=prolific-session`;
}

function sessionOf(pid: string): string {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return (db.prepare('SELECT id FROM sessions WHERE prolific_pid = ?').get(pid) as { id: string }).id;
  } finally {
    db.close();
  }
}

function storedTrials(session: string) {
  const db = new Database(server.dbFile, { readonly: true });
  try {
    return db
      .prepare('SELECT trial_index, phase, category, response, correct, rt_ms, data FROM trials WHERE session_id = ? ORDER BY trial_index')
      .all(session) as {
      trial_index: number;
      phase: string;
      category: string;
      response: string;
      correct: number;
      rt_ms: number;
      data: string;
    }[];
  } finally {
    db.close();
  }
}

const planFor = (pid: string) => async () => (await server.store.getSession(sessionOf(pid)))!.plan.trials;

async function participate(browser: TestBrowser, pid: string, answer: AnswerPolicy, opts: { reloadBefore?: number } = {}) {
  const context = await newParticipantContext(browser.browser);
  const audio: AudioLog = { contexts: [], starts: [], messages: [] };
  await context.exposeFunction('__reportAudio', (kind: keyof AudioLog, entry: never) => void audio[kind].push(entry));
  await context.addInitScript(INSTRUMENT_AUDIO);
  const page = await context.newPage();
  await page.goto(runUrl(pid));
  let before: number[] = [];
  if (opts.reloadBefore !== undefined) {
    const first = await driveParticipant(page, { plan: planFor(pid), answer, stopBefore: opts.reloadBefore, timeoutMs: 170_000 });
    expect(first.stoppedAt).toBe(opts.reloadBefore);
    before = first.answered;
    await page.reload();
    await page.locator('text=Welcome back').waitFor();
  }
  const rest = await driveParticipant(page, { plan: planFor(pid), answer, timeoutMs: 170_000 });
  const result = { ...rest, answered: [...before, ...rest.answered] };
  return { result, context, audio };
}

function expectNoSoundBeforeAGesture(log: AudioLog): void {
  expect(log.starts.length).toBeGreaterThan(0);
  for (const s of log.starts) expect(s).toEqual({ state: 'running', active: true });
}

describe('audio study with headphone check and typed answers, Chromium with autoplay allowed', () => {
  it('a participant passes the check, answers by typing with suggestions, and completes; the database holds every planned trial', {
    timeout: 200_000,
  }, async () => {
    const pid = pidOf('e2eaudiohp00000000000001');
    const { result, context, audio } = await participate(autoplay, pid, alwaysRight);
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const session = sessionOf(pid);
    const plan = (await server.store.getSession(session))!.plan.trials;
    const rows = storedTrials(session);
    expect(rows.map((r) => r.trial_index)).toEqual(plan.map((t) => t.index));
    expect(rows.every((r) => r.correct === 1)).toBe(true);
    expect(rows.slice(0, 6).every((r) => r.phase === 'headphone' && ['1', '2', '3'].includes(r.response))).toBe(true);
    expect(rows[6]!.phase).toBe('practice');
    // Every trial after the check was typed (30 choices > 20), some picked from the suggestions.
    const typed = rows.slice(6);
    expect(result.typed!.map((t) => t.index)).toEqual(typed.map((r) => r.trial_index));
    expect(result.typed!.some((t) => t.picked)).toBe(true);
    for (const r of typed) {
      const data = JSON.parse(r.data) as { rt_ms: number; extra: { keystrokes: number; used_suggestion: boolean } };
      expect(WORDS).toContain(r.response);
      expect(data.extra.keystrokes).toBeGreaterThan(0);
      const picked = result.typed!.find((t) => t.index === r.trial_index)!.picked;
      expect(data.extra.used_suggestion).toBe(picked);
      // From sound onset: the 0.25 s clip played to its end before the box opened.
      expect(data.rt_ms).toBeGreaterThan(250);
    }
    expect((await server.store.getSession(session))!.state).toBe('completed');
    expectNoSoundBeforeAGesture(audio);
    await context.close();
  });

  it('a participant who fails the check is screened out with the screen-out code and a kind message; only the check is stored', {
    timeout: 200_000,
  }, async () => {
    const pid = pidOf('e2eaudiohp00000000000002');
    const wrongOnTheCheck: AnswerPolicy = (t, choices) => (t.phase === 'headphone' ? choices.find((c) => c !== t.category)! : t.category);
    const { result, context, audio } = await participate(autoplay, pid, wrongOnTheCheck);
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${SCREENOUT_CODE}`);
    // The screen-out page is brief (the driver follows its link); the page's own log saw it.
    expect(audio.messages.some((m) => m.includes('This study needs headphones') && m.includes('paid for your time'))).toBe(true);
    const session = sessionOf(pid);
    expect((await server.store.getSession(session))!.state).toBe('screened_out');
    const rows = storedTrials(session);
    expect(rows.map((r) => [r.trial_index, r.phase, r.correct])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, 'headphone', 0]));
    expect(result.answered).toEqual([0, 1, 2, 3, 4, 5]);
    await context.close();
  });
});

describe('audio study in a Chromium without the autoplay switch', () => {
  let strict: TestBrowser;
  beforeAll(async () => {
    strict = await launchChromium({ audio: false });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('starts the audio context suspended, resumes it at a click, plays nothing before; a reload during the check resumes it', {
    timeout: 200_000,
  }, async () => {
    const pid = pidOf('e2eaudiohp00000000000003');
    const { result, context, audio } = await participate(strict, pid, alwaysRight, { reloadBefore: 3 });
    expect(result.finalUrl).toBe(`https://app.prolific.com/submissions/complete?cc=${COMPLETION_CODE}`);
    const session = sessionOf(pid);
    const plan = (await server.store.getSession(session))!.plan.trials.map((t) => t.index);
    expect(result.answered).toEqual(plan);
    expect(storedTrials(session).map((r) => r.trial_index)).toEqual(plan);
    // Two pages (before and after the reload), each with two contexts: the device check's, which
    // reads the output channels and is closed at once, and jsPsych's. Chrome's autoplay policy lets a
    // context be running from its creation only in a page that has had a gesture: that is what is
    // checked, as a full-suite run once saw a context created in an already activated page.
    const created = audio.contexts.filter((c) => c.event === 'created');
    expect(created).toHaveLength(4);
    for (const c of created) expect(c.state === 'suspended' || c.active, JSON.stringify(audio.contexts)).toBe(true);
    expect(audio.contexts.filter((c) => c.state === 'closed')).toHaveLength(2);
    expect(audio.contexts[0]).toEqual({ event: 'created', state: 'suspended', active: false });
    // Nothing runs without a gesture, and a suspended context is resumed at a click (after the
    // reload at the latest, where the page starts again without one).
    for (const c of audio.contexts.filter((e) => e.state === 'running')) expect(c.active, JSON.stringify(audio.contexts)).toBe(true);
    expect(audio.contexts).toContainEqual({ event: 'statechange', state: 'running', active: true });
    expectNoSoundBeforeAGesture(audio);
    await context.close();
  });
});
