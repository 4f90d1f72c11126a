/**
 * A session belongs to one submission (docs/integrity.md, "One session per submission").
 *
 * Knowing somebody's Prolific ID must not be enough to take over their session. So an existing
 * session is returned only to a request that shows it comes from the submission that started it:
 *
 * - the same Prolific SESSION_ID (Prolific makes one per submission attempt and puts it in the
 *   study link, so the participant's own link works from any browser), or
 * - the resume key this server gave the browser that started the session (the page keeps it in
 *   localStorage: a reload, a second tab or a closed and reopened tab in that browser).
 *
 * A preview's made-up ID is itself a 96-bit secret made by the server, so a preview resumes from
 * its URL alone. Anything else gets one answer, the same whatever the session's state, with no
 * token, trials or state in it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http-error.ts';
import type { ParticipantIdFormat } from './study-config.ts';

/** The browser's key to its session: derived, so nothing more is stored. */
export function resumeKey(secret: Buffer, sessionId: string): string {
  return createHmac('sha256', secret).update(`resume\u0000${sessionId}`).digest('base64url').slice(0, 32);
}

export interface OwnershipClaim {
  prolific_session_id?: string;
  resume_key?: string;
}

export interface OwnedSession {
  id: string;
  preview: boolean;
  prolific_session_id: string | null;
}

export function ownsSession(secret: Buffer, session: OwnedSession, claim: OwnershipClaim): boolean {
  if (session.preview) return true;
  if (claim.resume_key !== undefined) {
    const expected = Buffer.from(resumeKey(secret, session.id));
    const given = Buffer.from(claim.resume_key);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return session.prolific_session_id !== null && claim.prolific_session_id === session.prolific_session_id;
}

export const OTHER_SUBMISSION_MESSAGE =
  'This Prolific ID has already been used to start this study in another submission. Please continue in the browser and from the study link where you started. If you cannot, please contact the researcher through Prolific.';

export function otherSubmission(): HttpError {
  return new HttpError(409, 'other_submission', OTHER_SUBMISSION_MESSAGE);
}

const PROLIFIC_ID = /^[0-9a-f]{24}$/i;

/** Why `pid` is not an ID of the study's format, or null when it is. */
export function participantIdProblem(format: ParticipantIdFormat | undefined, pid: string): string | null {
  // Configs stored before the option existed were Prolific studies.
  if ((format ?? 'prolific') === 'prolific' && !PROLIFIC_ID.test(pid)) {
    return 'The Prolific ID in this link is not valid: Prolific IDs are 24 characters long, made of the digits 0–9 and the letters a–f. Please open the study from its link on Prolific.';
  }
  // The `token` format is the contract's own rule (letters, digits, ".", "_", "-"), already checked.
  return null;
}
