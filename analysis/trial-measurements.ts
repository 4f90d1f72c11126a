/**
 * What the participant's page measured about one trial, read back from the stored record (the
 * `data` column: the browser's trial record as sent, canonical JSON): presentation times and
 * frames, page visibility, full screen, script-dispatched input, and for sounds the AudioContext's
 * clock and latencies. Used by the quality flags (analysis/quality-flags.ts) and as the trials
 * export's measurement columns. Every value is what the browser reported (docs/integrity.md).
 */
import type { ColumnDescription } from './trial-row.ts';

export interface TrialMeasurements {
  /** The record carried the page's `evidence` (every trial the study's page sends does). */
  hasEvidence: boolean;
  /** From the trial's start (Start trial pressed) to the response, on the page's clock. */
  trialMs: number | null;
  stimulusMeasuredMs: number | null;
  stimulusTargetMs: number | null;
  stimulusFrames: number | null;
  frameMs: number | null;
  pageHidden: boolean | null;
  leftFullscreen: boolean | null;
  untrustedEvents: number | null;
  audioStartS: number | null;
  audioState: string | null;
  audioOutputLatencyMs: number | null;
  audioBaseLatencyMs: number | null;
}

type Json = Record<string, unknown>;

const num = (o: Json | undefined, k: string): number | null =>
  o && typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null;
const bool = (o: Json | undefined, k: string): boolean | null => (o && typeof o[k] === 'boolean' ? (o[k] as boolean) : null);
const str = (o: Json | undefined, k: string): string | null => (o && typeof o[k] === 'string' ? (o[k] as string) : null);
const obj = (o: unknown): Json | undefined => (o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Json) : undefined);

/** Reads the measurements of one stored record; a record that is not JSON has none. */
export function trialMeasurements(data: string | null): TrialMeasurements {
  let record: Json | undefined;
  try {
    record = obj(data === null ? null : JSON.parse(data));
  } catch {
    record = undefined;
  }
  const timings = obj(record?.timings);
  const evidence = obj(record?.evidence);
  const diff = (a: number | null, b: number | null) => (a !== null && b !== null ? Math.round((b - a) * 10) / 10 : null);
  return {
    hasEvidence: evidence !== undefined,
    trialMs: diff(num(timings, 'started'), num(timings, 'response')),
    stimulusMeasuredMs: diff(num(timings, 'stimulus_onset'), num(timings, 'stimulus_offset')),
    stimulusTargetMs: num(evidence, 'stimulus_target_ms'),
    stimulusFrames: num(evidence, 'stimulus_frames'),
    frameMs: num(timings, 'frame_ms'),
    pageHidden: bool(evidence, 'page_hidden'),
    leftFullscreen: bool(evidence, 'left_fullscreen'),
    untrustedEvents: num(evidence, 'untrusted_events'),
    audioStartS: num(evidence, 'audio_start_s'),
    audioState: str(evidence, 'audio_state'),
    audioOutputLatencyMs: num(evidence, 'audio_output_latency_ms'),
    audioBaseLatencyMs: num(evidence, 'audio_base_latency_ms'),
  };
}

/** The measurement columns of the trials export (and Psych-DS `variableMeasured`), in order. */
export const MEASUREMENT_COLUMNS: readonly ColumnDescription[] = [
  {
    name: 'stimulus_measured_ms',
    type: 'number',
    description:
      'Image trials: how long the stimulus was on screen, from the frame that showed it to the frame that replaced it ' +
      "(ms, the page's requestAnimationFrame clock).",
  },
  { name: 'stimulus_target_ms', type: 'number', description: 'Image trials: how long the stimulus was planned to stay on screen (ms).' },
  { name: 'stimulus_frames', type: 'integer', description: 'Image trials: frames the page rendered while the stimulus was shown.' },
  { name: 'frame_ms', type: 'number', description: "The display's frame interval as the page estimated it during the trial (ms)." },
  {
    name: 'page_hidden',
    type: 'integer',
    description:
      '1 if the page was hidden (another tab, a minimised window) at some moment between the start of the trial and the response, ' +
      '0 if not; empty when not reported.',
  },
  {
    name: 'left_fullscreen',
    type: 'integer',
    description:
      'Image studies: 1 if the page was not full screen at some moment of the trial, 0 if it stayed full screen; ' +
      'empty when not reported.',
  },
  {
    name: 'untrusted_events',
    type: 'integer',
    description:
      'Clicks and key presses during the trial that a script dispatched (Event.isTrusted false); ' +
      'a participant using the page makes none.',
  },
  { name: 'audio_start_s', type: 'number', description: "Audio trials: when the sound started, on the page's AudioContext clock (s)." },
  {
    name: 'audio_state',
    type: 'string',
    description: "Audio trials: the AudioContext's state as the sound started (running when it could play).",
  },
  {
    name: 'audio_output_latency_ms',
    type: 'number',
    description: "Audio trials: the AudioContext's reported outputLatency (ms; empty where the browser does not report it).",
  },
  {
    name: 'audio_base_latency_ms',
    type: 'number',
    description: "Audio trials: the AudioContext's reported baseLatency (ms; empty where the browser does not report it).",
  },
];

const bit = (b: boolean | null) => (b === null ? null : b ? 1 : 0);

/** The measurement cells of one stored record, by MEASUREMENT_COLUMNS name. */
export function measurementCells(data: string | null): Record<string, string | number | null> {
  const m = trialMeasurements(data);
  return {
    stimulus_measured_ms: m.stimulusMeasuredMs,
    stimulus_target_ms: m.stimulusTargetMs,
    stimulus_frames: m.stimulusFrames,
    frame_ms: m.frameMs,
    page_hidden: bit(m.pageHidden),
    left_fullscreen: bit(m.leftFullscreen),
    untrusted_events: m.untrustedEvents,
    audio_start_s: m.audioStartS,
    audio_state: m.audioState,
    audio_output_latency_ms: m.audioOutputLatencyMs,
    audio_base_latency_ms: m.audioBaseLatencyMs,
  };
}
