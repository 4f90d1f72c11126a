/**
 * The wire contract between the server and the participant's browser: the session the browser is
 * given and the trial records it sends back. The server validates with these schemas; the browser
 * bundle imports only the types (keeping zod out of the participant's download).
 */
import { z } from 'zod';

export const Phase = z.enum(['practice', 'screening', 'main', 'catch', 'headphone']);
export type Phase = z.infer<typeof Phase>;

/**
 * What the browser is told of a trial's phase: only what the page needs to run it (feedback after
 * practice, the headphone check's question). Screening, main and catch trials are all `test`, so
 * a script cannot pick out the catch trials (docs/integrity.md).
 */
export const ClientPhase = z.enum(['practice', 'headphone', 'test']);
export type ClientPhase = z.infer<typeof ClientPhase>;

const ProlificParam = z
  .string()
  .trim()
  // Prolific ids are 24 hex characters; test links and other recruiters use other shapes, so any
  // plain token is accepted — never markup, paths, spaces or control characters.
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** POST /api/studies/:studyId/sessions — from the participant URL's Prolific parameters. */
export const SessionStartRequest = z.object({
  prolific_pid: ProlificParam,
  prolific_study_id: ProlificParam.optional(),
  prolific_session_id: ProlificParam.optional(),
  /** The resume key this browser was given when it started the session (server/session-ownership.ts). */
  resume_key: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,64}$/, 'a resume key this server issued')
    .optional(),
});
export type SessionStartRequest = z.infer<typeof SessionStartRequest>;

/**
 * One trial as the browser sees it: a keyed stimulus URL and never an answer (practice answers come
 * back only in the acknowledgement of the stored practice response: TrialAck).
 */
export const ClientTrial = z.object({
  index: z.number().int().min(0),
  phase: ClientPhase,
  stimulus: z.string(),
  mask: z.string().optional(),
  /** Image on-screen time for this trial (the first practice trials are slower). */
  stimulus_ms: z.number().int().min(0).optional(),
  /** This trial's own choices (a headphone trial's interval labels); otherwise the study's. */
  choices: z.array(z.string()).optional(),
});
export type ClientTrial = z.infer<typeof ClientTrial>;

export const SessionState = z.enum(['started', 'completed', 'screened_out', 'abandoned']);
export type SessionState = z.infer<typeof SessionState>;

export const SessionView = z.object({
  session: z.string(),
  /** Kept by the page (localStorage) to resume this session without the same Prolific SESSION_ID. */
  resume_key: z.string(),
  study: z.object({
    id: z.string(),
    title: z.string(),
    modality: z.enum(['image', 'audio']),
    /** Asked above the answer buttons; the consent page's text (plain, blank line = paragraph). */
    question: z.string().optional(),
    consent: z.string().optional(),
  }),
  state: SessionState,
  /** Labels of the response buttons, in display order. */
  choices: z.array(z.string()),
  timing: z.object({
    blank_ms: z.number(),
    fixation_ms: z.number(),
    stimulus_ms: z.number(),
    mask_ms: z.number(),
  }),
  trials: z.array(ClientTrial),
  /** Indices the server already holds: a reload resumes after them. */
  answered: z.array(z.number().int()),
  /** Index of the last screening trial; the gate is asked after it. Null without screening. */
  screening_last_index: z.number().int().nullable(),
  /** The gates' verdict so far: true once every gate has passed, null while one is undecided. */
  gates_passed: z.boolean().nullable(),
  /** Rest breaks come after these trial indices. */
  rest_after: z.array(z.number().int()),
  /**
   * Audio studies: the headphone check that opens the session (its trials are the `headphone`
   * phase; its gate is asked after `last_index`). Absent or null without a check.
   */
  headphone: z
    .object({
      test: z.enum(['antiphase', 'huggins']),
      /** The volume-setting sound played before the check (not a trial). */
      calibration: z.string(),
      last_index: z.number().int(),
    })
    .nullable()
    .optional(),
  /** How audio trials are answered: buttons, or typing with suggestions (many choices). Default buttons. */
  response_mode: z.enum(['buttons', 'typed']).optional(),
  /** Set once the session has ended: where the browser must go. */
  redirect_url: z.string().nullable(),
});
export type SessionView = z.infer<typeof SessionView>;

/** Measured display times of one trial, ms on the page's performance.now() clock. */
export const TrialTimings = z
  .object({
    started: z.number(),
    fixation_onset: z.number(),
    stimulus_onset: z.number(),
    stimulus_offset: z.number(),
    mask_onset: z.number(),
    mask_offset: z.number(),
    choices_onset: z.number(),
    response: z.number(),
    /** Median frame interval seen during the trial. */
    frame_ms: z.number(),
    /** How long the participant waited for this trial's stimulus to arrive and be decoded (0: it was ready). */
    wait_ms: z.number().min(0).max(86_400_000),
  })
  .partial();

/**
 * What the page measured about one trial besides its times (docs/integrity.md, "Evidence and quality
 * flags"). Reported by the browser, so a script can send anything here: the server weighs it
 * against what it observes itself (arrival times, the response distribution).
 */
export const TrialEvidence = z
  .object({
    /** Image trials: frames the page rendered (requestAnimationFrame callbacks) while the stimulus was shown. */
    stimulus_frames: z.number().int().min(0).max(100_000),
    /** Image trials: how long the stimulus was planned to stay on screen. */
    stimulus_target_ms: z.number().min(0).max(60_000),
    /** The page was hidden (another tab, a minimised window) at some moment between the trial's start and the response. */
    page_hidden: z.boolean(),
    /** The study runs full screen, and the page was not full screen at some moment of the trial. */
    left_fullscreen: z.boolean(),
    /** Clicks and key presses of the trial dispatched by a script, not the user (`Event.isTrusted` false). */
    untrusted_events: z.number().int().min(0).max(100_000),
    /** Audio trials: when the sound started, on the AudioContext clock (s). */
    audio_start_s: z.number().min(0),
    /** Audio trials: the AudioContext's state as the sound started (`running` unless it could not play). */
    audio_state: z.string().max(20),
    /** Audio trials: the context's reported output latency and base latency (ms), where the browser reports them. */
    audio_output_latency_ms: z.number().min(0).max(10_000),
    audio_base_latency_ms: z.number().min(0).max(10_000),
  })
  .partial()
  .strict();
export type TrialEvidence = z.infer<typeof TrialEvidence>;

/**
 * POST /api/sessions/:session/page-report — once per page load: signs of browser automation the page
 * can see. Reported by the browser (a script need not send it; its absence is itself evidence).
 */
export const PageReport = z
  .object({
    /** `navigator.webdriver` (null where the browser does not have it). */
    webdriver: z.boolean().nullable(),
    /** Names of globals and attributes that known automation drivers leave in a page (experiment/automation-signs.ts). */
    automation_globals: z.array(z.string().max(64)).max(32),
  })
  .strict();
export type PageReport = z.infer<typeof PageReport>;

/** POST /api/sessions/:session/trials — one answered trial. */
export const TrialRecord = z
  .object({
    trial_index: z.number().int().min(0).max(100_000),
    /** The chosen label (null when the trial timed out). */
    response: z.string().max(200).nullable(),
    /** From the moment the choices were available to the response. */
    rt_ms: z.number().min(0).max(86_400_000).nullable(),
    timings: TrialTimings.optional(),
    evidence: TrialEvidence.optional(),
    /** Free extras a plugin records (keystrokes, play count…): small, flat. */
    extra: z
      .preprocess(
        (v, ctx) => {
          // JSON.parse makes "__proto__" an own key, which zod's record drops without a word; the
          // stored record would then differ from what was sent, so it is refused by name.
          if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
            ctx.issues.push({ code: 'custom', message: 'the key "__proto__" is not allowed', input: v });
          }
          return v;
        },
        z.record(z.string().max(64), z.union([z.string().max(500), z.number(), z.boolean(), z.null()])),
      )
      .optional(),
  })
  .strict();
export type TrialRecord = z.infer<typeof TrialRecord>;

export const TrialAck = z.object({
  stored: z.enum(['created', 'duplicate']),
  /** Practice trials only: the answer, given once the response is stored (docs/integrity.md). */
  feedback: z.object({ correct: z.boolean(), answer: z.string() }).optional(),
});
export type TrialAck = z.infer<typeof TrialAck>;

/** The gates a session may have, in the order they come: a failed gate screens the session out. */
export const GatePhase = z.enum(['headphone', 'screening']);
export type GatePhase = z.infer<typeof GatePhase>;

export const GateResult = z.object({
  passed: z.boolean(),
  redirect_url: z.string().nullable(),
});
export type GateResult = z.infer<typeof GateResult>;

export const CompletionResult = z.object({ redirect_url: z.string() });
export type CompletionResult = z.infer<typeof CompletionResult>;

/** Why the device check turned a participant away (device-check.ts), or `window`: it would not fit. */
export const TurnAwayReason = z.enum(['device', 'screen', 'pointer', 'audio', 'window']);
export type TurnAwayReason = z.infer<typeof TurnAwayReason>;

/** POST /api/studies/:studyId/turn-aways — counted once per pseudonymous participant; always 204. */
export const TurnAwayReport = z.strictObject({
  prolific_pid: SessionStartRequest.shape.prolific_pid,
  reason: TurnAwayReason,
});
export type TurnAwayReport = z.infer<typeof TurnAwayReport>;

/** Every error answer has this shape; `code` is stable for programs, `error` is for people. */
export const ErrorBody = z.object({
  error: z.string(),
  code: z.string(),
  redirect_url: z.string().optional(),
  missing: z.array(z.number().int()).optional(),
  /** `too_early` (pacing): when the server takes the trial or the completion, in ms from now. */
  retry_after_ms: z.number().int().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
