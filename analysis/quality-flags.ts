/**
 * Quality flags: from what a session left in the database — its trials (responses, response times,
 * the page's measurements, when the server received each), its page reports and the server's pacing
 * count — to a list of `{code, reason}` an experimenter reads before approving a submission on
 * Prolific, and that the `flagged` exclusion rule uses. Pure: the server (server/session-quality.ts)
 * and every other reader feed it rows; nothing here does I/O. Thresholds are the study config's
 * `quality` section, documented with their sources in docs/integrity.md.
 *
 * Two kinds of evidence. The server's own observations (arrival times, the session's duration, the
 * distribution of responses, pacing) hold whatever a script does; what the page reports (response
 * times, presentation, visibility, automation signs) a script can fake, so those flags catch
 * careless automation and honest trouble (a slow display, a participant in another tab).
 */
import { z } from 'zod';
import type { SessionState } from '../experiment/contract.ts';
import { trialMeasurements } from './trial-measurements.ts';

const Share = z.number().min(0).max(1);

/** The study config's `quality` section (server/study-config.ts uses this schema; analysis must not import server/). */
export const QualityRules = z.strictObject({
  /** Responses faster than this, from the moment the choices could be used, are implausible (Whelan 2008: 100–200 ms). */
  rt_floor_ms: z.number().min(0).max(5_000).default(150),
  /** Flag when more than this share of a session's responses are faster than `rt_floor_ms`. */
  fast_share_max: Share.default(0.1),
  /** Flag when one response was chosen on at least this share of trials (and twice as often as it was the right answer). */
  stereotypy_share: z.number().gt(0).max(1).default(0.5),
  /** The share rules judge a session only once it has at least this many trials to count. */
  min_trials: z.number().int().min(1).max(100_000).default(10),
  /** Flag when the server counted more pacing violations than this. */
  pacing_violations_max: z.number().int().min(0).default(0),
  /** Flag automation signs: navigator.webdriver, driver globals, a headless User-Agent, script-dispatched input. */
  automation: z.boolean().default(true),
  /** Flag when the page was hidden during more than this share of trials. */
  hidden_share_max: Share.default(0.05),
  /** Image studies: flag when full screen was left during more than this share of trials. */
  fullscreen_share_max: Share.default(0.05),
  /** A stimulus on screen for more than this many frames longer or shorter than planned was not shown as planned. */
  presentation_tolerance_frames: z.number().min(0).max(60).default(1),
  /** Flag when more than this share of trials were not shown as planned (or a sound's context was not running). */
  presentation_share_max: Share.default(0.1),
  /** Flag sessions whose page never reported, or whose trials mostly came without the page's measurements. */
  missing_measurements: z.boolean().default(true),
  /** Reported trial times may exceed the time the server saw the session for by 1% plus this. */
  timing_slack_ms: z.number().min(0).max(3_600_000).default(2_000),
  /** Prolific's "exceptionally fast": completion this many SD below the study's mean duration (0: off). */
  completion_sd: z.number().min(0).max(10).default(3),
  /** …judged only once this many sessions have completed. */
  completion_min_sessions: z.number().int().min(2).default(10),
});
export type QualityRules = z.output<typeof QualityRules>;
export const DEFAULT_QUALITY_RULES: QualityRules = QualityRules.parse({});

export const QUALITY_CODES = [
  'pacing',
  'timing_mismatch',
  'exceptionally_fast',
  'fast_responses',
  'stereotyped',
  'automation',
  'missing_measurements',
  'page_hidden',
  'left_fullscreen',
  'presentation',
] as const;
export type QualityCode = (typeof QUALITY_CODES)[number];

export interface QualityFlag {
  code: QualityCode;
  /** One sentence with the numbers and the threshold, for people. */
  reason: string;
}

/** One stored trial, as the `trials` table holds it. */
export interface QualityTrial {
  phase: string;
  /** The trial's right answer (from the session's plan). */
  category: string;
  response: string | null;
  rt_ms: number | null;
  received_at: number;
  /** The browser's record as stored (canonical JSON). */
  data: string;
}

export interface QualityPageReport {
  /** The PageReport as stored (canonical JSON). */
  report: string;
  user_agent: string | null;
}

export interface QualitySessionInput {
  state: SessionState;
  preview: boolean;
  started_at: number;
  finished_at: number | null;
  pacing_violations: number;
  trials: Iterable<QualityTrial>;
  reports: readonly QualityPageReport[];
}

/** Everything the flags need from one session, independent of the thresholds (so it can be cached). */
export interface SessionQualitySummary {
  state: SessionState;
  preview: boolean;
  started_at: number;
  finished_at: number | null;
  pacing_violations: number;
  trials: number;
  /** Response times of the answered trials outside the headphone check (32-bit: summaries are cached per session). */
  rts: Float32Array;
  /**
   * Answered trials outside the headphone check; the most frequent response among them, and on how
   * many of them it was the right answer (the plan balances categories, not always exactly).
   */
  responses: number;
  topResponse: { label: string; count: number; asAnswer: number } | null;
  withEvidence: number;
  hidden: { trials: number; flagged: number };
  fullscreen: { trials: number; flagged: number };
  /** Image trials: |measured − planned| duration, in frames. */
  presentationFrameErrors: Float32Array;
  audio: { trials: number; notRunning: number };
  untrustedEvents: number;
  untrustedTrials: number;
  /** Sum over trials of what the page says each took (start to response, else the response time). */
  reportedMs: number;
  lastReceivedAt: number | null;
  reports: number;
  webdriver: boolean;
  automationGlobals: string[];
  headlessUserAgent: boolean;
}

/** Chromium's headless mode names itself in the User-Agent ("HeadlessChrome/…"). */
const HEADLESS_UA = /HeadlessChrome/;

export function summariseSession(s: QualitySessionInput): SessionQualitySummary {
  const sum: SessionQualitySummary = {
    state: s.state,
    preview: s.preview,
    started_at: s.started_at,
    finished_at: s.finished_at,
    pacing_violations: s.pacing_violations,
    trials: 0,
    rts: new Float32Array(0),
    responses: 0,
    topResponse: null,
    withEvidence: 0,
    hidden: { trials: 0, flagged: 0 },
    fullscreen: { trials: 0, flagged: 0 },
    presentationFrameErrors: new Float32Array(0),
    audio: { trials: 0, notRunning: 0 },
    untrustedEvents: 0,
    untrustedTrials: 0,
    reportedMs: 0,
    lastReceivedAt: null,
    reports: s.reports.length,
    webdriver: false,
    automationGlobals: [],
    headlessUserAgent: false,
  };
  const counts = new Map<string, number>();
  const answers = new Map<string, number>();
  const rts: number[] = [];
  const frameErrors: number[] = [];
  for (const t of s.trials) {
    sum.trials++;
    sum.lastReceivedAt = Math.max(sum.lastReceivedAt ?? t.received_at, t.received_at);
    const m = trialMeasurements(t.data);
    if (t.phase !== 'headphone' && t.response !== null) {
      sum.responses++;
      counts.set(t.response, (counts.get(t.response) ?? 0) + 1);
      answers.set(t.category, (answers.get(t.category) ?? 0) + 1);
      if (t.rt_ms !== null) rts.push(t.rt_ms);
    }
    const took = m.trialMs ?? t.rt_ms;
    if (took !== null && took > 0) sum.reportedMs += took;
    if (m.hasEvidence) sum.withEvidence++;
    if (m.pageHidden !== null) {
      sum.hidden.trials++;
      if (m.pageHidden) sum.hidden.flagged++;
    }
    if (m.leftFullscreen !== null) {
      sum.fullscreen.trials++;
      if (m.leftFullscreen) sum.fullscreen.flagged++;
    }
    if (m.stimulusMeasuredMs !== null && m.stimulusTargetMs !== null && m.frameMs !== null && m.frameMs > 0) {
      frameErrors.push(Math.abs(m.stimulusMeasuredMs - m.stimulusTargetMs) / m.frameMs);
    }
    if (m.audioState !== null) {
      sum.audio.trials++;
      if (m.audioState !== 'running') sum.audio.notRunning++;
    }
    if (m.untrustedEvents !== null && m.untrustedEvents > 0) {
      sum.untrustedEvents += m.untrustedEvents;
      sum.untrustedTrials++;
    }
  }
  sum.rts = Float32Array.from(rts);
  sum.presentationFrameErrors = Float32Array.from(frameErrors);
  for (const [label, count] of counts) {
    if (!sum.topResponse || count > sum.topResponse.count) sum.topResponse = { label, count, asAnswer: answers.get(label) ?? 0 };
  }
  for (const r of s.reports) {
    if (r.user_agent && HEADLESS_UA.test(r.user_agent)) sum.headlessUserAgent = true;
    let report: { webdriver?: unknown; automation_globals?: unknown } = {};
    try {
      report = JSON.parse(r.report) as typeof report;
    } catch {
      // A report the server stored is canonical JSON; anything else carries no signs.
    }
    if (report.webdriver === true) sum.webdriver = true;
    if (Array.isArray(report.automation_globals)) {
      for (const g of report.automation_globals) {
        if (typeof g === 'string' && !sum.automationGlobals.includes(g)) sum.automationGlobals.push(g);
      }
    }
  }
  return sum;
}

type CompletionInput = Pick<SessionQualitySummary, 'state' | 'preview' | 'started_at' | 'finished_at'>;

/** Durations of the study's completed sessions, for Prolific's "exceptionally fast" rule. */
export interface CompletionStats {
  n: number;
  meanMs: number;
  sdMs: number;
}

export function completionStats(sessions: Iterable<CompletionInput>): CompletionStats {
  const d: number[] = [];
  for (const s of sessions) if (s.state === 'completed' && !s.preview && s.finished_at !== null) d.push(s.finished_at - s.started_at);
  const n = d.length;
  const mean = n > 0 ? d.reduce((a, b) => a + b, 0) / n : 0;
  // Sample SD (n − 1), as a researcher would compute it from Prolific's export.
  const sd = n > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, meanMs: mean, sdMs: sd };
}

export interface StudyQualityContext {
  completion: CompletionStats;
}

const pct = (k: number, n: number) => `${Math.round((100 * k) / n)}%`;
const share = (k: number, n: number) => `${k} of ${n} (${pct(k, n)})`;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function qualityFlags(s: SessionQualitySummary, rules: QualityRules, study: StudyQualityContext): QualityFlag[] {
  const flags: QualityFlag[] = [];
  const flag = (code: QualityCode, reason: string) => flags.push({ code, reason });
  const enough = (n: number) => n >= rules.min_trials;
  const finished = s.state === 'completed' || s.state === 'screened_out';

  if (s.pacing_violations > rules.pacing_violations_max) {
    flag('pacing', `${s.pacing_violations} trial(s) arrived earlier than the protocol allows (limit ${rules.pacing_violations_max})`);
  }
  if (s.lastReceivedAt !== null) {
    const seen = Math.max(0, s.lastReceivedAt - s.started_at);
    if (s.reportedMs > seen * 1.01 + rules.timing_slack_ms) {
      const reported = duration(s.reportedMs);
      flag('timing_mismatch', `the page reported ${reported} of trial time, but the server saw the session for ${duration(seen)}`);
    }
  }
  const c = study.completion;
  if (rules.completion_sd > 0 && s.state === 'completed' && !s.preview && s.finished_at !== null && c.n >= rules.completion_min_sessions) {
    const d = s.finished_at - s.started_at;
    const limit = c.meanMs - rules.completion_sd * c.sdMs;
    if (d < limit) {
      flag(
        'exceptionally_fast',
        `completed in ${duration(d)}, more than ${rules.completion_sd} SD below the study's mean ` +
          `(${duration(c.meanMs)} ± ${duration(c.sdMs)}, ${c.n} completed)`,
      );
    }
  }
  if (enough(s.rts.length)) {
    const fast = s.rts.filter((rt) => rt < rules.rt_floor_ms).length;
    if (fast / s.rts.length > rules.fast_share_max) {
      const limit = pct(rules.fast_share_max, 1);
      flag('fast_responses', `${share(fast, s.rts.length)} responses faster than ${rules.rt_floor_ms} ms (limit ${limit})`);
    }
  }
  if (enough(s.responses) && s.topResponse) {
    const t = s.topResponse;
    // Twice its own count as the right answer: a participant who is right on every trial of a plan
    // that happens to favour one category answers it that often, and is not stereotyped.
    if (t.count / s.responses >= rules.stereotypy_share && t.count >= 2 * t.asAnswer) {
      const limit = pct(rules.stereotypy_share, 1);
      flag('stereotyped', `"${t.label}" on ${share(t.count, s.responses)} trials, the right answer on ${t.asAnswer} (limit ${limit})`);
    }
  }
  if (rules.automation) {
    const signs: string[] = [];
    if (s.webdriver) signs.push('navigator.webdriver was true');
    if (s.headlessUserAgent) signs.push('the User-Agent says HeadlessChrome');
    if (s.automationGlobals.length > 0) signs.push(`automation globals: ${s.automationGlobals.join(', ')}`);
    if (s.untrustedEvents > 0) {
      signs.push(`${s.untrustedEvents} click(s) or key press(es) dispatched by a script on ${s.untrustedTrials} trial(s)`);
    }
    if (signs.length > 0) flag('automation', signs.join('; '));
  }
  if (rules.missing_measurements) {
    const gaps: string[] = [];
    if (s.reports === 0 && (finished || enough(s.trials))) gaps.push('the study page never reported from this session');
    if (s.trials > 0 && s.withEvidence < s.trials / 2) {
      gaps.push(`${share(s.trials - s.withEvidence, s.trials)} trials came without the page's measurements`);
    }
    if (gaps.length > 0) flag('missing_measurements', gaps.join('; '));
  }
  if (enough(s.hidden.trials) && s.hidden.flagged / s.hidden.trials > rules.hidden_share_max) {
    flag('page_hidden', `page hidden during ${share(s.hidden.flagged, s.hidden.trials)} trials (limit ${pct(rules.hidden_share_max, 1)})`);
  }
  if (enough(s.fullscreen.trials) && s.fullscreen.flagged / s.fullscreen.trials > rules.fullscreen_share_max) {
    const limit = pct(rules.fullscreen_share_max, 1);
    flag('left_fullscreen', `not full screen during ${share(s.fullscreen.flagged, s.fullscreen.trials)} trials (limit ${limit})`);
  }
  // Whole frames: durations are frame-locked, so an error of up to half a frame is rounding.
  const offImages = s.presentationFrameErrors.filter((e) => e > rules.presentation_tolerance_frames + 0.5).length;
  const off = offImages + s.audio.notRunning;
  const judged = s.presentationFrameErrors.length + s.audio.trials;
  if (enough(judged) && off / judged > rules.presentation_share_max) {
    const what = [
      offImages > 0 ? `${offImages} stimulus duration(s) more than ${rules.presentation_tolerance_frames} frame(s) off the plan` : '',
      s.audio.notRunning > 0 ? `${s.audio.notRunning} sound(s) started while the AudioContext was not running` : '',
    ].filter(Boolean);
    const limit = pct(rules.presentation_share_max, 1);
    flag('presentation', `${share(off, judged)} trials not shown as planned: ${what.join('; ')} (limit ${limit})`);
  }
  return flags;
}

/**
 * Flags for many sessions of one study. The study-level part (completion times) comes from
 * `population`, every session of the study, which defaults to the sessions judged.
 */
export function studyQualityFlags<K>(
  sessions: ReadonlyMap<K, SessionQualitySummary>,
  rules: QualityRules,
  population: Iterable<CompletionInput> = sessions.values(),
): Map<K, QualityFlag[]> {
  const study: StudyQualityContext = { completion: completionStats(population) };
  const out = new Map<K, QualityFlag[]>();
  for (const [k, s] of sessions) out.set(k, qualityFlags(s, rules, study));
  return out;
}

/** Flags as one line of text: `code: reason` per flag, separated by " | " (empty when none). */
export function describeFlags(flags: readonly QualityFlag[]): string {
  return flags.map((f) => `${f.code}: ${f.reason}`).join(' | ');
}
