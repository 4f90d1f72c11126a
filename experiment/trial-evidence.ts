/**
 * What the page measures about each trial besides its times (the `evidence` of a trial record): was
 * the page hidden or full screen left while the trial ran, did a script rather than the user click,
 * and for sounds, when the sound started on the AudioContext clock and what latency the context
 * reports. The trial modules call `trialEvidence()` once per trial, `begin()` when the trial starts
 * to show something, `soundStarted()` as a sound starts, and `finish()` in their `on_finish`.
 *
 * Everything here is what the browser says about itself: a script posing as a participant can send
 * any values (docs/integrity.md). It serves to show an honest participant's device and attention,
 * and to catch scripts that drive a real page without hiding what they are.
 */
import type { TrialEvidence } from './contract.ts';

interface PageSignals {
  /** visibilitychange events to `hidden` so far. */
  hides: number;
  /** fullscreenchange events that left full screen so far. */
  fullscreenExits: number;
  /** Clicks, pointer presses and key presses with `isTrusted` false so far. */
  untrusted: number;
  /** Does this study show its trials full screen (image studies)? */
  fullscreen: boolean;
  audioContext: () => AudioContext | null;
}

let signals: PageSignals | null = null;

// The user's own input reaches the page as trusted events; `element.click()` or `dispatchEvent` from
// a script (an extension, a console snippet, an agent injecting JavaScript) makes untrusted ones
// (DOM Standard, "isTrusted": https://dom.spec.whatwg.org/#dom-event-istrusted).
const INPUT_EVENTS = ['click', 'pointerdown', 'mousedown', 'keydown'] as const;

/**
 * Called once, when the page knows its study: installs the listeners every trial reads. Listeners
 * in the capture phase of the document see every event before any handler can stop it.
 */
export function trackTrialEvidence(opts: { fullscreen: boolean; audioContext: () => AudioContext | null }, doc: Document = document): void {
  if (signals) return;
  const s: PageSignals = { hides: 0, fullscreenExits: 0, untrusted: 0, ...opts };
  signals = s;
  doc.addEventListener('visibilitychange', () => {
    if (doc.visibilityState === 'hidden') s.hides++;
  });
  doc.addEventListener('fullscreenchange', () => {
    if (!doc.fullscreenElement) s.fullscreenExits++;
  });
  for (const type of INPUT_EVENTS) {
    doc.addEventListener(
      type,
      (e) => {
        if (!e.isTrusted) s.untrusted++;
      },
      { capture: true },
    );
  }
}

/** Milliseconds, rounded to 0.1; null when the browser does not report the latency. */
function latencyMs(seconds: number | undefined): number | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 10_000) / 10 : undefined;
}

export interface TrialEvidenceProbe {
  /** The trial starts to show its content: from here to `finish`, hiding the page counts. */
  begin(): void;
  /** A sound is starting now (just before or after `play()`, within the same task). */
  soundStarted(): void;
  /** The evidence of the trial; `presentation` from image trials' frame sequence. */
  finish(presentation?: { stimulus_frames?: number; stimulus_target_ms?: number }): TrialEvidence;
}

export function trialEvidence(doc: Document = document): TrialEvidenceProbe {
  const s = signals;
  let start: { hides: number; exits: number; untrusted: number; hidden: boolean; notFullscreen: boolean } | null = null;
  const audio: Pick<TrialEvidence, 'audio_start_s' | 'audio_state' | 'audio_output_latency_ms' | 'audio_base_latency_ms'> = {};
  const probe: TrialEvidenceProbe = {
    begin() {
      if (!s) return;
      start = {
        hides: s.hides,
        exits: s.fullscreenExits,
        untrusted: s.untrusted,
        hidden: doc.visibilityState === 'hidden',
        notFullscreen: s.fullscreen && !doc.fullscreenElement,
      };
    },
    soundStarted() {
      const ctx = s?.audioContext() ?? null;
      if (!ctx) return;
      audio.audio_start_s = Math.round(ctx.currentTime * 1e6) / 1e6;
      audio.audio_state = ctx.state;
      // outputLatency: Chrome and Firefox, not Safari (https://developer.mozilla.org/docs/Web/API/AudioContext/outputLatency).
      audio.audio_output_latency_ms = latencyMs(ctx.outputLatency);
      audio.audio_base_latency_ms = latencyMs(ctx.baseLatency);
    },
    finish(presentation) {
      if (!s) return { ...presentation };
      // A trial whose begin() never ran (a plugin that skipped its on_load) is judged from here on.
      start ??= { hides: s.hides, exits: s.fullscreenExits, untrusted: s.untrusted, hidden: false, notFullscreen: false };
      const notFullscreenNow = s.fullscreen && !doc.fullscreenElement;
      const evidence: TrialEvidence = {
        ...presentation,
        page_hidden: start.hidden || s.hides > start.hides || doc.visibilityState === 'hidden',
        untrusted_events: s.untrusted - start.untrusted,
        ...audio,
      };
      if (s.fullscreen) evidence.left_fullscreen = start.notFullscreen || s.fullscreenExits > start.exits || notFullscreenNow;
      for (const k of Object.keys(evidence) as (keyof TrialEvidence)[]) if (evidence[k] === undefined) delete evidence[k];
      return evidence;
    },
  };
  return probe;
}
