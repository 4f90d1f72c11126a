/**
 * The shapes of the Prolific API responses this platform reads, typed by hand from Prolific's
 * published reference (no OpenAPI file could be had here, so there is no generated client; each
 * schema cites its endpoint's page). Only the fields used are declared; the rest pass through
 * unchecked, since Prolific adds fields over time. Request bodies are built in client.ts.
 */
import { z } from 'zod';
import { normaliseStatus } from './submission-status.ts';

const timestamp = z
  .string()
  .nullish()
  .transform((v) => {
    if (!v) return null;
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  });

/**
 * GET /api/v1/studies/{id}/ — https://docs.prolific.com/api-reference/studies/get-study
 * `completion_codes`: "A participant will enter one of these codes when they complete your study".
 */
export const ProlificStudy = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  internal_name: z.string().nullish(),
  status: z.string().nullish(),
  /** The single code of studies created before `completion_codes` (prolific-oss/cli's CreateStudy). */
  completion_code: z.string().nullish(),
  completion_codes: z
    .array(z.looseObject({ code: z.string(), code_type: z.string().nullish() }))
    .nullish()
    .transform((v) => v ?? []),
});
export type ProlificStudy = z.infer<typeof ProlificStudy>;

/**
 * One submission of GET /api/v1/submissions/?study=… —
 * https://docs.prolific.com/api-reference/submissions/get-submissions ("study id, participant id,
 * status and start timestamp"). The participant comes as `participant_id` in study listings
 * (prolific-oss/cli's model) and as `participant` in single submissions
 * (https://docs.prolific.com/api-reference/submissions/get-submission); both are read.
 */
export const ProlificSubmission = z
  .looseObject({
    id: z.string().min(1),
    participant_id: z.string().min(1).nullish(),
    participant: z.string().min(1).nullish(),
    study_id: z.string().nullish(),
    status: z.string().min(1).transform(normaliseStatus),
    started_at: timestamp,
    completed_at: timestamp,
    /** "Bonus payments that have been paid on the submission. Returned in pence / cents." */
    bonus_payments: z.array(z.number()).nullish(),
  })
  .transform((s, ctx) => {
    const pid = s.participant_id ?? s.participant;
    if (!pid) {
      ctx.issues.push({ code: 'custom', message: 'submission without a participant id', input: s });
      return z.NEVER;
    }
    return {
      id: s.id,
      prolific_pid: pid,
      study_id: s.study_id ?? null,
      status: s.status,
      started_at: s.started_at,
      completed_at: s.completed_at,
      bonus_payments: s.bonus_payments ?? [],
    };
  });
export type ProlificSubmission = z.infer<typeof ProlificSubmission>;

/**
 * A page of submissions: `results`, with the `_links.next` and `meta.count` of Prolific's list
 * responses (prolific-oss/cli's JSONAPILinks and JSONAPIMeta). "Paginate by page_size and page
 * (Default page_size is 20)": https://docs.prolific.com/api-reference/submissions/get-submissions
 */
export const SubmissionPage = z.looseObject({
  results: z.array(ProlificSubmission),
  _links: z.looseObject({ next: z.looseObject({ href: z.string().nullish() }).nullish() }).nullish(),
  meta: z.looseObject({ count: z.number().int().nonnegative().nullish() }).nullish(),
});

/**
 * POST /api/v1/submissions/bonus-payments/ — https://docs.prolific.com/api-reference/bonuses/create-bonus-payments
 * "id: Bonus ID. It is the ID to be used when paying the bonus"; amounts in cents.
 */
export const BonusSetUp = z.looseObject({
  id: z.string().min(1),
  total_amount: z.number().nullish(),
  amount: z.number().nullish(),
  fees: z.number().nullish(),
});
export type BonusSetUp = z.infer<typeof BonusSetUp>;

/** POST /api/v1/hooks/secrets/ — https://docs.prolific.com/api-reference/webhooks/subscribing */
export const HookSecret = z.looseObject({ id: z.string().nullish(), value: z.string().min(1) });

/** POST /api/v1/hooks/subscriptions/ — https://docs.prolific.com/api-reference/webhooks/subscribing */
export const HookSubscription = z.looseObject({
  id: z.string().min(1),
  event_type: z.string(),
  target_url: z.string(),
  is_enabled: z.boolean().nullish(),
});
export type HookSubscription = z.infer<typeof HookSubscription>;

/**
 * Error bodies: `{"error": {"status", "title", "detail", …}}` (prolific-oss/cli's JSONAPIError),
 * or a simpler `{"message", "detail"}`. `detail` may be a string, a list or a field map.
 */
const NestedError = z.looseObject({ error: z.looseObject({ title: z.string().nullish(), detail: z.unknown() }) });
const FlatError = z.looseObject({ message: z.string().nullish(), detail: z.unknown() });

/** A person-readable line from an error body (at most 300 characters). */
export function errorDetail(body: unknown): string {
  const nested = NestedError.safeParse(body);
  const flat = FlatError.safeParse(body);
  let text: string;
  if (nested.success) text = [nested.data.error.title, describeDetail(nested.data.error.detail)].filter(Boolean).join(': ');
  else if (flat.success) text = [flat.data.message, describeDetail(flat.data.detail)].filter(Boolean).join(': ');
  else text = typeof body === 'string' ? body : '';
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export function describeDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) return detail.map(describeDetail).filter(Boolean).join('; ');
  if (typeof detail === 'object') {
    return Object.entries(detail as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${describeDetail(v)}`)
      .join('; ');
  }
  return String(detail);
}
