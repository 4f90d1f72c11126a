/**
 * The quality flags' derivation (analysis/quality-flags.ts) over sessions built the way the store
 * holds them: trial rows with the browser's record as canonical JSON, page reports with the
 * User-Agent the server saw. Each rule fires just past its threshold and stays quiet at it.
 */
import { describe, expect, it } from 'vitest';
import {
  completionStats,
  DEFAULT_QUALITY_RULES,
  describeFlags,
  type QualityFlag,
  QualityRules,
  type QualitySessionInput,
  type QualityTrial,
  qualityFlags,
  studyQualityFlags,
  summariseSession,
} from '../../analysis/quality-flags.ts';
import type { TrialRecord } from '../../experiment/contract.ts';
import { canonicalJson } from '../../server/canonical-json.ts';

const CHOICES = ['bear', 'car', 'dog', 'knife'];
const T0 = 1_800_000_000_000;

interface TrialSpec {
  rt?: number;
  /** The right answer (default: the four categories in turn); the response defaults to it. */
  category?: string;
  response?: string;
  phase?: string;
  /** Replaces the evidence an honest page sends; null sends none. */
  evidence?: TrialRecord['evidence'] | null;
  /** Stimulus on screen for this long (planned 300 ms at 60 Hz). */
  stimulusMs?: number;
}

const HONEST_EVIDENCE = { stimulus_frames: 18, stimulus_target_ms: 300, page_hidden: false, left_fullscreen: false, untrusted_events: 0 };

/** An honest-looking image trial every 2 s: 1.4 s of presentation, then the response. */
function trials(specs: TrialSpec[]): QualityTrial[] {
  return specs.map((t, i) => {
    const rt = t.rt ?? 650;
    const started = 2_000 * i + 1_000;
    const onset = started + 800;
    const category = t.category ?? CHOICES[i % CHOICES.length]!;
    const record: TrialRecord = {
      trial_index: i,
      response: t.response ?? category,
      rt_ms: rt,
      timings: {
        started,
        stimulus_onset: onset,
        stimulus_offset: onset + (t.stimulusMs ?? 300),
        choices_onset: onset + 600,
        response: onset + 600 + rt,
        frame_ms: 1000 / 60,
      },
      ...(t.evidence === null ? {} : { evidence: t.evidence ?? HONEST_EVIDENCE }),
    };
    const received_at = T0 + started + 1_500 + rt;
    return { phase: t.phase ?? 'main', category, response: record.response, rt_ms: rt, received_at, data: canonicalJson(record) };
  });
}

const HONEST_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const honestReport = { report: canonicalJson({ webdriver: false, automation_globals: [] }), user_agent: HONEST_UA };

function session(specs: TrialSpec[], extra: Partial<QualitySessionInput> = {}): QualitySessionInput {
  const t = trials(specs);
  return {
    state: 'completed',
    preview: false,
    started_at: T0,
    finished_at: t.length ? t[t.length - 1]!.received_at + 100 : T0 + 1000,
    pacing_violations: 0,
    trials: t,
    reports: [honestReport],
    ...extra,
  };
}

const noStudy = { completion: { n: 0, meanMs: 0, sdMs: 0 } };
const flagsOf = (s: QualitySessionInput, rules: Partial<QualityRules> = {}) =>
  qualityFlags(summariseSession(s), QualityRules.parse(rules), noStudy);
const codes = (f: QualityFlag[]) => f.map((x) => x.code);
const n = (k: number, spec: TrialSpec = {}) => Array.from({ length: k }, () => ({ ...spec }));

describe('quality flags', () => {
  it('an honest session has none', () => {
    expect(flagsOf(session(n(40)))).toEqual([]);
  });

  it('fast responses: more than the share of responses under the floor', () => {
    // 4 of 40 = 10% is the limit itself; 5 of 40 is past it.
    expect(codes(flagsOf(session([...n(4, { rt: 120 }), ...n(36)])))).toEqual([]);
    const f = flagsOf(session([...n(5, { rt: 149 }), ...n(35)]));
    expect(f).toEqual([{ code: 'fast_responses', reason: '5 of 40 (13%) responses faster than 150 ms (limit 10%)' }]);
    // The floor is the config's.
    expect(codes(flagsOf(session([...n(5, { rt: 149 }), ...n(35)]), { rt_floor_ms: 100 }))).toEqual([]);
  });

  it('stereotypy: one response on at least the share of trials, and twice as often as it was the right answer', () => {
    // 40 trials, the four categories in turn (10 each): "dog" on the first k, the others right. The
    // 7 dog trials from index 12 on are answered "dog" too: k = 12 gives 19 "dog", k = 13 gives 20.
    const same = (k: number) => Array.from({ length: 40 }, (_, i) => (i < k ? { response: 'dog' } : {}));
    expect(codes(flagsOf(session(same(12))))).toEqual([]);
    expect(flagsOf(session(same(13)))).toEqual([
      { code: 'stereotyped', reason: '"dog" on 20 of 40 (50%) trials, the right answer on 10 (limit 50%)' },
    ]);
    // A participant right on every trial of a plan that favours one category is not stereotyped.
    const favoured = Array.from({ length: 40 }, (_, i) => ({ category: i < 24 ? 'bear' : CHOICES[i % 4]! }));
    expect(codes(flagsOf(session(favoured)))).toEqual([]);
    // Two categories in turn: a bias to one button (30 of 40) is not twice its 20; all 40 are.
    const two = (k: number) =>
      Array.from({ length: 40 }, (_, i) => ({ category: i % 2 ? 'bear' : 'car', ...(i < 2 * (k - 20) ? { response: 'car' } : {}) }));
    expect(codes(flagsOf(session(two(30))))).toEqual([]);
    expect(codes(flagsOf(session(two(40))))).toEqual(['stereotyped']);
  });

  it('headphone-check trials are not responses to the study question', () => {
    expect(codes(flagsOf(session([...n(30, { phase: 'headphone', response: '1', rt: 50 }), ...n(12)])))).toEqual([]);
  });

  it('the share rules wait for min_trials', () => {
    expect(codes(flagsOf(session(n(9, { rt: 1, response: 'dog' }))))).toEqual([]);
    expect(codes(flagsOf(session(n(10, { rt: 1, response: 'dog' }))))).toEqual(['fast_responses', 'stereotyped']);
  });

  it('pacing: more violations than allowed', () => {
    expect(flagsOf(session(n(12), { pacing_violations: 3 }))).toEqual([
      { code: 'pacing', reason: '3 trial(s) arrived earlier than the protocol allows (limit 0)' },
    ]);
    expect(codes(flagsOf(session(n(12), { pacing_violations: 3 }), { pacing_violations_max: 3 }))).toEqual([]);
  });

  it('timing mismatch: the page claims more time than the server saw', () => {
    // 12 trials claiming 1.4 s + 0.65 s each (24.6 s), all received within 3 s of the start.
    const s = session(n(12));
    s.trials = (s.trials as QualityTrial[]).map((t, i) => ({ ...t, received_at: T0 + 100 + 200 * i }));
    expect(flagsOf(s)).toEqual([
      { code: 'timing_mismatch', reason: 'the page reported 25 s of trial time, but the server saw the session for 2 s' },
    ]);
    // With the real spacing (2 s per trial) there is nothing to say.
    expect(codes(flagsOf(session(n(12))))).toEqual([]);
  });

  it("exceptionally fast: Prolific's 3 SD below the mean of completed sessions", () => {
    const durations = [600, 620, 580, 610, 590, 605, 595, 615, 585, 600].map((s) => s * 1000);
    const population = durations.map((d) => ({ state: 'completed' as const, preview: false, started_at: 0, finished_at: d }));
    const stats = completionStats(population);
    expect(stats.n).toBe(10);
    expect(stats.meanMs).toBe(600_000);
    const quick = summariseSession(session(n(12), { finished_at: T0 + Math.round(stats.meanMs - 3 * stats.sdMs) - 1000 }));
    const f = qualityFlags(quick, DEFAULT_QUALITY_RULES, { completion: stats });
    expect(codes(f)).toEqual(['exceptionally_fast']);
    // SD 12.9 s: the limit is 561.3 s, and this session took 560.3 s.
    expect(f[0]!.reason).toBe("completed in 9 min 20 s, more than 3 SD below the study's mean (10 min 00 s ± 13 s, 10 completed)");
    const justOver = summariseSession(session(n(12), { finished_at: T0 + Math.round(stats.meanMs - 3 * stats.sdMs) + 1 }));
    expect(codes(qualityFlags(justOver, DEFAULT_QUALITY_RULES, { completion: stats }))).toEqual([]);
    // Fewer completed sessions than completion_min_sessions: not judged.
    expect(codes(qualityFlags(quick, DEFAULT_QUALITY_RULES, { completion: completionStats(population.slice(1)) }))).toEqual([]);
    // Previews and unfinished sessions are not part of the population.
    const others = [
      { state: 'completed' as const, preview: true, started_at: 0, finished_at: 1 },
      { state: 'started' as const, preview: false, started_at: 0, finished_at: null },
    ];
    expect(completionStats([...population, ...others]).n).toBe(10);
  });

  it('automation: webdriver, a headless User-Agent, driver globals, script-dispatched input', () => {
    const reports = [
      {
        report: canonicalJson({ webdriver: true, automation_globals: ['cdc_adoQpoasnfa76pfcZLmcfl_Array'] }),
        user_agent: 'Mozilla/5.0 HeadlessChrome/140.0.0.0',
      },
    ];
    const f = flagsOf(session([...n(10), { evidence: { untrusted_events: 2, page_hidden: false } }], { reports }));
    expect(f).toEqual([
      {
        code: 'automation',
        reason:
          'navigator.webdriver was true; the User-Agent says HeadlessChrome; automation globals: cdc_adoQpoasnfa76pfcZLmcfl_Array; ' +
          '2 click(s) or key press(es) dispatched by a script on 1 trial(s)',
      },
    ]);
    expect(codes(flagsOf(session(n(10), { reports }), { automation: false }))).toEqual([]);
  });

  it("missing measurements: no page report, or trials without the page's evidence", () => {
    expect(flagsOf(session(n(12), { reports: [] }))).toEqual([
      { code: 'missing_measurements', reason: 'the study page never reported from this session' },
    ]);
    expect(flagsOf(session([...n(7, { evidence: null }), ...n(5)]))).toEqual([
      { code: 'missing_measurements', reason: "7 of 12 (58%) trials came without the page's measurements" },
    ]);
    // A session that has just started has not had the time to report.
    expect(codes(flagsOf(session(n(2), { state: 'started', reports: [] })))).toEqual([]);
    expect(codes(flagsOf(session(n(12), { reports: [] }), { missing_measurements: false }))).toEqual([]);
  });

  it('page hidden and full screen left: more than their share of trials', () => {
    const hidden = { stimulus_frames: 18, stimulus_target_ms: 300, page_hidden: true, left_fullscreen: false, untrusted_events: 0 };
    const left = { ...hidden, page_hidden: false, left_fullscreen: true };
    expect(codes(flagsOf(session([...n(1, { evidence: hidden }), ...n(19)])))).toEqual([]);
    expect(flagsOf(session([...n(2, { evidence: hidden }), ...n(18)]))).toEqual([
      { code: 'page_hidden', reason: 'page hidden during 2 of 20 (10%) trials (limit 5%)' },
    ]);
    expect(flagsOf(session([...n(2, { evidence: left }), ...n(18)]))).toEqual([
      { code: 'left_fullscreen', reason: 'not full screen during 2 of 20 (10%) trials (limit 5%)' },
    ]);
  });

  it('presentation: stimulus durations off the plan by more than the tolerance, sounds with a stopped context', () => {
    // 300 ms planned at 60 Hz: 333 ms is 2 frames over; 320 ms rounds to 1 frame (within tolerance).
    expect(codes(flagsOf(session([...n(10, { stimulusMs: 320 }), ...n(10)])))).toEqual([]);
    expect(flagsOf(session([...n(3, { stimulusMs: 334 }), ...n(17)]))).toEqual([
      {
        code: 'presentation',
        reason: '3 of 20 (15%) trials not shown as planned: 3 stimulus duration(s) more than 1 frame(s) off the plan (limit 10%)',
      },
    ]);
    const audio = (state: string) => ({ evidence: { audio_start_s: 1.5, audio_state: state, page_hidden: false, untrusted_events: 0 } });
    expect(codes(flagsOf(session([...n(2, audio('suspended')), ...n(8, audio('running'))])))).toEqual(['presentation']);
    expect(codes(flagsOf(session([...n(1, audio('suspended')), ...n(9, audio('running'))])))).toEqual([]);
  });

  it('a script posting at full speed with nothing but answers trips the server-side rules', () => {
    const script: QualitySessionInput = {
      state: 'completed',
      preview: false,
      started_at: T0,
      finished_at: T0 + 900,
      pacing_violations: 0,
      reports: [],
      trials: Array.from({ length: 40 }, (_, i) => ({
        phase: 'main',
        category: CHOICES[i % 4]!,
        response: 'dog',
        rt_ms: 650,
        received_at: T0 + 20 * i,
        data: canonicalJson({ trial_index: i, response: 'dog', rt_ms: 650 }),
      })),
    };
    expect(codes(flagsOf(script))).toEqual(['timing_mismatch', 'stereotyped', 'missing_measurements']);
  });

  it('study flags are computed per session with the study-level population', () => {
    const m = new Map([
      ['a', summariseSession(session(n(12)))],
      ['b', summariseSession(session(n(12, { rt: 10 })))],
    ]);
    const f = studyQualityFlags(m, DEFAULT_QUALITY_RULES);
    expect(codes(f.get('a')!)).toEqual([]);
    expect(codes(f.get('b')!)).toEqual(['fast_responses']);
    expect(describeFlags(f.get('b')!)).toBe('fast_responses: 12 of 12 (100%) responses faster than 150 ms (limit 10%)');
    expect(describeFlags([])).toBe('');
  });

  it('thresholds are validated with the field named', () => {
    expect(() => QualityRules.parse({ fast_share_max: 2 })).toThrow(/fast_share_max/);
    expect(() => QualityRules.parse({ rt_flor_ms: 100 })).toThrow(/rt_flor_ms/);
  });
});
