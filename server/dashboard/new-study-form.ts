/**
 * The "new study" form → a study config input. The form only gathers; the study config schema
 * (server/study-config.ts) stays the single judge of what is valid, and its messages are mapped
 * back onto the form's fields.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { StimulusSetSummary } from '../store/stimulus-sets.ts';
import { jsonSyntaxError } from '../config-errors.ts';

/** Every field arrives as text; blank means "the template's default". */
export const NewStudyForm = z.object({
  stimulus_set: z.string().default(''),
  id: z.string().default(''),
  title: z.string().default(''),
  target_completed: z.string().default(''),
  completion_code: z.string().default(''),
  screenout_code: z.string().default(''),
  complete_url: z.string().default(''),
  abandon_after_minutes: z.string().default(''),
  practice_trials: z.string().default(''),
  screening_trials: z.string().default(''),
  screening_min_correct: z.string().default(''),
  catch_trials: z.string().default(''),
  main_sources: z.string().default(''),
  advanced: z.string().default(''),
  launch: z.string().optional(),
});
export type NewStudyForm = z.infer<typeof NewStudyForm>;

export const PROTOCOL_FIELDS = ['practice_trials', 'screening_trials', 'screening_min_correct', 'catch_trials', 'main_sources'] as const;

/** A Prolific-style code suggestion (the experimenter may paste Prolific's own instead). */
export function suggestCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(8)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function blankForm(): NewStudyForm {
  return NewStudyForm.parse({
    completion_code: suggestCode(),
    screenout_code: suggestCode(),
    target_completed: '20',
    abandon_after_minutes: '60',
  });
}

export class FormError extends Error {
  readonly expose = true as const;
  constructor(readonly problems: { field: string; message: string }[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function numberOrText(s: string): number | string {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** The config input the form describes; throws FormError for what only the form can know. */
export function configFromForm(f: NewStudyForm, sets: readonly StimulusSetSummary[]): Record<string, unknown> {
  const set = sets.find((s) => s.name === f.stimulus_set.trim());
  if (!set)
    throw new FormError([
      { field: 'stimulus_set', message: f.stimulus_set.trim() ? `no stimulus set "${f.stimulus_set.trim()}"` : 'choose a stimulus set' },
    ]);
  const protocol: Record<string, unknown> = {};
  for (const k of PROTOCOL_FIELDS) {
    const v = f[k].trim();
    if (v === '') continue;
    protocol[k] = k === 'main_sources' && v === 'all' ? 'all' : numberOrText(v);
  }
  const prolific: Record<string, unknown> = { completion_code: f.completion_code.trim(), screenout_code: f.screenout_code.trim() };
  if (f.complete_url.trim()) prolific.complete_url = f.complete_url.trim();
  let config: Record<string, unknown> = {
    id: f.id.trim(),
    stimulus_set: set.name,
    modality: set.modality,
    prolific,
    target_completed: numberOrText(f.target_completed),
    protocol,
  };
  if (f.title.trim()) config.title = f.title.trim();
  if (f.abandon_after_minutes.trim()) config.abandon_after_minutes = numberOrText(f.abandon_after_minutes);
  if (f.advanced.trim()) {
    const syntax = jsonSyntaxError(f.advanced);
    if (syntax) throw new FormError([{ field: 'advanced', message: `not valid JSON: ${syntax}` }]);
    const extra: unknown = JSON.parse(f.advanced);
    if (!isPlainObject(extra))
      throw new FormError([{ field: 'advanced', message: 'must be a JSON object, e.g. {"timing": {"stimulus_ms": 200}}' }]);
    config = deepMerge(config, extra);
  }
  return config;
}

/** A config error's path → the form field that holds it (or `advanced` for the rest). */
export function fieldOfPath(path: readonly PropertyKey[]): string {
  const [a, b] = path.map(String);
  if (a === 'protocol' && b && (PROTOCOL_FIELDS as readonly string[]).includes(b)) return b;
  if (a === 'prolific' && b) return b;
  if (a && ['id', 'title', 'stimulus_set', 'target_completed', 'abandon_after_minutes'].includes(a)) return a;
  return 'advanced';
}
