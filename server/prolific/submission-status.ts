/**
 * Prolific's submission statuses (https://docs.prolific.com/api-reference/submissions/submission-object)
 * and what each means for a session here.
 *
 * The reference spells them with spaces (`AWAITING REVIEW`, `SCREENED OUT`) and a hyphen
 * (`TIMED-OUT`); its list filter accepts underscores too ("case-insensitive with underscore
 * normalization", https://docs.prolific.com/api-reference/submissions/get-submissions). Every
 * status is normalised to the reference's spelling before it is stored or compared.
 */
import type { ProlificAbandonReason } from '../store/prolific-store.ts';

export const KNOWN_STATUSES = [
  'RESERVED',
  'ACTIVE',
  'TIMED-OUT',
  'AWAITING REVIEW',
  'APPROVED',
  'PARTIALLY APPROVED',
  'RETURNED',
  'REJECTED',
  'SCREENED OUT',
] as const;

export function normaliseStatus(raw: string): string {
  const s = raw
    .trim()
    .toUpperCase()
    .replace(/[_\s]+/g, ' ');
  return s === 'TIMED OUT' ? 'TIMED-OUT' : s;
}

/**
 * Statuses with which Prolific has ended the participant's place: "The study place becomes
 * available for another participant" (RETURNED, REJECTED), and a TIMED-OUT participant "does not
 * have access to the study link". A session still in progress here gives its slot back at once.
 */
const RELEASING: Record<string, ProlificAbandonReason> = {
  RETURNED: 'prolific_returned',
  'TIMED-OUT': 'prolific_timed_out',
  REJECTED: 'prolific_rejected',
};

export function releaseReason(status: string): ProlificAbandonReason | undefined {
  return RELEASING[status];
}

/** The participant told Prolific they finished (entered a completion code), or Prolific paid them. */
export function claimsCompletion(status: string): boolean {
  return status === 'AWAITING REVIEW' || status === 'APPROVED' || status === 'PARTIALLY APPROVED';
}

/** Still taking part on Prolific's side. */
export function inProgress(status: string): boolean {
  return status === 'RESERVED' || status === 'ACTIVE';
}
