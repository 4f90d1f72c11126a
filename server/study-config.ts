/**
 * The study config file (`metamer study create <config.json>`): zod-validated, JSON Schema emitted
 * by `npm run schemas`. Defaults follow the paper's protocol (docs/design.md §5) for the study's
 * modality; what the participant page says and needs from a device has defaults per modality too.
 */
import { z } from 'zod';
import { Slug } from '../stimuli/manifest.ts';
import { ExclusionRules } from '../analysis/exclusions.ts';
import { DEVICE_DEFAULTS, DevicePolicy } from '../experiment/device-policy.ts';
import { AnalysisConfig } from '../analysis/level-choice.ts';
import { DEFAULT_QUALITY_RULES, QualityRules } from '../analysis/quality-flags.ts';

export const PROLIFIC_COMPLETE_URL = 'https://app.prolific.com/submissions/complete';
/**
 * Where a participant returns a study they cannot do: their submissions page on Prolific, where
 * an active study is returned ("Cancel participation"; Prolific's participant help, "How to return
 * a submission on Prolific"). Returning costs them nothing and frees the place.
 */
export const PROLIFIC_RETURN_URL = 'https://app.prolific.com/submissions';

/**
 * The one rule for a study id, used by the config, `metamer study init --id` and the dashboard
 * form (its `pattern` attribute is this source): the id is part of the participant URL and of
 * export file names, so lower-case letters, digits and inner dashes only. The escaped "-" keeps the
 * pattern valid under the `v` flag that browsers use for `pattern`.
 */
export const STUDY_ID_PATTERN = '[a-z0-9](?:[a-z0-9\\-]{0,62}[a-z0-9])?';
export const StudyId = z
  .string()
  .regex(
    new RegExp(`^${STUDY_ID_PATTERN}$`),
    'lower-case letters, digits and "-" (not first or last), at most 64 characters, e.g. "resnet-pilot-1"',
  );

const Ms = z.number().int().min(0).max(60_000);

/** A (model, layers) selection; no `layers` means every layer of the model. */
export const ModelSelection = z.strictObject({
  model: Slug,
  layers: z.array(Slug).min(1).optional(),
});

export const Conditions = z.strictObject({
  /** `all` models and layers of the set, or an explicit list. */
  models: z.union([z.literal('all'), z.array(ModelSelection).min(1)]).default('all'),
  /** The natural condition (layer_index 0) is part of every study unless switched off. */
  include_natural: z.boolean().default(true),
});

export const Protocol = z.strictObject({
  /** Practice trials, with feedback, drawn from the set's `practice` natural items. */
  practice_trials: z.number().int().min(0).max(200),
  /**
   * How many of the set's practice items practice may show (default: practice_trials, so every
   * participant practises on the same images). Their answers are given as feedback, so they are
   * never screening or catch items, in any session; the other practice items are (docs/integrity.md).
   */
  practice_pool: z.number().int().min(1).max(10_000).optional(),
  /** How many of the first practice trials use the slower `practice_stimulus_ms`. */
  slow_practice_trials: z.number().int().min(0).max(200),
  screening_trials: z.number().int().min(0).max(200),
  /** Minimum correct screening trials to continue; others are screened out. */
  screening_min_correct: z.number().int().min(0),
  /** Main sources per participant: `all`, or the first N of a seeded order (for short pilots). */
  main_sources: z.union([z.literal('all'), z.number().int().min(1)]).default('all'),
  /** Natural practice-pool stimuli mixed into the main block to check attention. */
  catch_trials: z.number().int().min(0).max(200),
  /** Rest breaks after these fractions of the main block. */
  rest_breaks: z.array(z.number().gt(0).lt(1)).default([0.25, 0.5, 0.75]),
  /**
   * Headphone screening before an audio task (docs/audio-studies.md): `antiphase` (Woods et al.
   * 2017, "which tone is quietest?"), `huggins` (Milne et al. 2021, "which noise has the hidden
   * tone?") or `none`. Below `headphone_min_correct` the session ends as screened out.
   */
  headphone_check: z.enum(['antiphase', 'huggins', 'none']),
  headphone_trials: z.number().int().min(1).max(30),
  headphone_min_correct: z.number().int().min(0),
  /**
   * Audio studies with more choices than this answer by typing with suggestions (the paper's
   * 793-word task) instead of clicking one of the buttons.
   */
  typed_response_above: z.number().int().min(1).max(100_000),
});

export const Timing = z.strictObject({
  /** Blank screen after the participant starts a trial. */
  blank_ms: Ms,
  fixation_ms: Ms,
  stimulus_ms: Ms,
  /** Image shown for this long on the first `slow_practice_trials` practice trials. */
  practice_stimulus_ms: Ms,
  mask_ms: Ms,
});

/** Loopback hosts, where plain http is as private as https (a local test or a recruiter stand-in). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Where a participant is sent with a completion or screen-out code: https only, since the code in
 * the query is what earns the payment and must not travel in the clear (http only to loopback).
 */
export const ExitUrl = z.url().refine(
  (u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  },
  { message: 'must be an https:// URL (http:// only for localhost, 127.x.x.x or [::1])' },
);

/**
 * Which participant IDs the study takes: `prolific`, Prolific's own (24 hexadecimal characters),
 * or `token`, any 1–128 letters, digits, ".", "_" or "-" (other recruiters' IDs).
 */
export const ParticipantIdFormat = z.enum(['prolific', 'token']);
export type ParticipantIdFormat = z.infer<typeof ParticipantIdFormat>;

export const Prolific = z.strictObject({
  completion_code: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a Prolific code: letters, digits, "_" or "-"'),
  screenout_code: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a Prolific code: letters, digits, "_" or "-"'),
  /** Where the browser goes at the end; `?cc=<code>` is appended. */
  complete_url: ExitUrl.default(PROLIFIC_COMPLETE_URL),
  /** The format PROLIFIC_PID must have (checked with a clear message before a session starts). */
  id_format: ParticipantIdFormat.default('prolific'),
  /** Where a participant whose device does not fit the study is sent to return it. */
  return_url: ExitUrl.default(PROLIFIC_RETURN_URL),
});

/** Exclusion rules applied by the analysis (overridable on the CLI); the analysis owns the schema. */
export const Exclusions = ExclusionRules;

export const PROTOCOL_DEFAULTS = {
  image: {
    practice_trials: 16,
    slow_practice_trials: 4,
    screening_trials: 12,
    screening_min_correct: 7,
    catch_trials: 16,
    headphone_check: 'none',
    headphone_trials: 6,
    headphone_min_correct: 5,
    typed_response_above: 20,
  },
  audio: {
    practice_trials: 10,
    slow_practice_trials: 0,
    screening_trials: 12,
    screening_min_correct: 5,
    catch_trials: 16,
    // Woods et al. 2017: 6 trials, pass with 5 correct.
    headphone_check: 'antiphase',
    headphone_trials: 6,
    headphone_min_correct: 5,
    // Up to 20 buttons fit on a screen and are scanned quickly; beyond that, typing is faster.
    typed_response_above: 20,
  },
} as const;

export const TIMING_DEFAULTS = {
  image: { blank_ms: 500, fixation_ms: 300, stimulus_ms: 300, practice_stimulus_ms: 400, mask_ms: 300 },
  // Audio trials play the whole clip; only the lead-in applies.
  audio: { blank_ms: 500, fixation_ms: 0, stimulus_ms: 0, practice_stimulus_ms: 0, mask_ms: 0 },
} as const;

/** Asked above the answer buttons of every task trial (the headphone check asks its own). */
export const DEFAULT_QUESTION = { image: 'What did the image show?', audio: 'What did you hear?' } as const;

/** The consent page's text: paragraphs separated by a blank line, shown as plain text. */
export function defaultConsent(modality: 'image' | 'audio'): string {
  return [
    `This is a research study on how people recognise ${modality === 'image' ? 'images' : 'sounds'}. It takes place in your browser ` +
      'and records your answers and response times, together with a pseudonymous code derived from your Prolific ID.',
    'Taking part is voluntary; you may stop at any time by closing this page and returning the study on Prolific.',
  ].join('\n\n');
}

/** What participants see as the study's name when the config gives no title: never the dataset name. */
const NEUTRAL_TITLE = { image: 'A study on recognising images', audio: 'A study on recognising sounds' } as const;

export const StudyConfigInput = z.strictObject({
  id: StudyId,
  /**
   * Shown to participants (consent page, tab title) and used as the exported dataset's name.
   * Without one, participants see a neutral heading and exports are named by the study id.
   */
  title: z.string().trim().min(1).max(200).optional(),
  /** The question above the answer buttons; default per modality (DEFAULT_QUESTION). */
  question: z.string().trim().min(1).max(300).optional(),
  /** The consent page's text (plain text; a blank line starts a paragraph); default defaultConsent(). */
  consent: z.string().trim().min(1).max(5000).optional(),
  /** What the participant's device must have; each field defaults per modality (experiment/device-policy.ts). */
  device: DevicePolicy.partial().default({}),
  stimulus_set: Slug,
  /** Defaults (protocol, timing) come from this modality's template; it must match the set's. */
  modality: z.enum(['image', 'audio']),
  conditions: Conditions.default({ models: 'all', include_natural: true }),
  protocol: Protocol.partial().default({}),
  timing: Timing.partial().default({}),
  prolific: Prolific,
  /** Stop accepting new participants once this many have completed. */
  target_completed: z.number().int().min(1),
  /**
   * A started session with no trial for this long becomes `abandoned` and gives its Latin-square
   * slot back; a late trial still arrives and revives it (server/abandonment.ts).
   */
  // At least a minute: a session's last activity is written at most every 20 s (sqlite-store.ts).
  abandon_after_minutes: z.number().min(1).max(10_080).default(60),
  /** Seeds the Latin square, trial orders and stimulus picks: the same seed gives the same plans. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(1),
  exclusions: Exclusions.default({
    incomplete: true,
    screened_out: true,
    catch_min_accuracy: 0,
    natural_min_accuracy: 0,
    flagged: false,
  }),
  /** Levels the analysis reports (`layers`, `drop_layers`; overridable on the CLI); the analysis owns the schema. */
  analysis: AnalysisConfig.optional(),
  /** Thresholds of the quality flags (docs/integrity.md); every field has a documented default. */
  quality: QualityRules.default(DEFAULT_QUALITY_RULES),
});
export type StudyConfigInput = z.input<typeof StudyConfigInput>;

/** A config with the modality template filled in: what the server stores and uses. */
export const StudyConfig = StudyConfigInput.transform((c, ctx) => {
  const protocol = Protocol.parse({
    ...PROTOCOL_DEFAULTS[c.modality],
    // No screening trials and no threshold given: no gate (rather than the template's threshold).
    ...(c.protocol.screening_trials === 0 && c.protocol.screening_min_correct === undefined ? { screening_min_correct: 0 } : {}),
    // Another number of headphone trials without a pass mark: Woods et al.'s 5 in 6, scaled.
    ...(c.protocol.headphone_trials !== undefined && c.protocol.headphone_min_correct === undefined
      ? { headphone_min_correct: Math.ceil((c.protocol.headphone_trials * 5) / 6) }
      : {}),
    ...c.protocol,
  });
  const timing = Timing.parse({ ...TIMING_DEFAULTS[c.modality], ...c.timing });
  const device = DevicePolicy.parse({ ...DEVICE_DEFAULTS[c.modality], ...c.device });
  if (c.modality === 'audio' && !device.audio_output) {
    const message = 'is false, but an audio study plays sounds: it needs audio output';
    ctx.addIssue({ code: 'custom', path: ['device', 'audio_output'], message });
  }
  if (protocol.screening_min_correct > protocol.screening_trials) {
    ctx.addIssue({
      code: 'custom',
      path: ['protocol', 'screening_min_correct'],
      message: `is ${protocol.screening_min_correct} but there are only ${protocol.screening_trials} screening trials`,
    });
  }
  if (protocol.headphone_check !== 'none' && protocol.headphone_min_correct > protocol.headphone_trials) {
    ctx.addIssue({
      code: 'custom',
      path: ['protocol', 'headphone_min_correct'],
      message: `is ${protocol.headphone_min_correct} but there are only ${protocol.headphone_trials} headphone trials`,
    });
  }
  if (c.modality === 'image' && protocol.headphone_check !== 'none') {
    ctx.addIssue({
      code: 'custom',
      path: ['protocol', 'headphone_check'],
      message: `is "${protocol.headphone_check}", but a headphone check is for audio studies only (this study is image)`,
    });
  }
  return {
    ...c,
    protocol,
    timing,
    device,
    question: c.question ?? DEFAULT_QUESTION[c.modality],
    consent: c.consent ?? defaultConsent(c.modality),
  };
});
export type StudyConfig = z.output<typeof StudyConfig>;

/** A stored config: those stored before a field existed lack it and get the modality's default. */
type StoredConfig = Pick<StudyConfig, 'modality'> & Partial<Pick<StudyConfig, 'title' | 'question' | 'consent' | 'device'>>;

/** The study's name as participants see it: its title, or a neutral heading (never a placeholder title). */
export function participantTitle(c: StoredConfig): string {
  return c.title ?? NEUTRAL_TITLE[c.modality];
}

export function questionOf(c: StoredConfig): string {
  return c.question ?? DEFAULT_QUESTION[c.modality];
}

export function consentOf(c: StoredConfig): string {
  return c.consent ?? defaultConsent(c.modality);
}

export function devicePolicyOf(c: StoredConfig): DevicePolicy {
  return { ...DEVICE_DEFAULTS[c.modality], ...c.device };
}

export const StudyStatus = z.enum(['draft', 'live', 'paused', 'closed']);
export type StudyStatus = z.infer<typeof StudyStatus>;
