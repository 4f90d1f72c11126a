/**
 * The "try it" links `metamer serve` prints for every live study: opening one starts a *preview*
 * run (ParticipantSessions.startPreview: no Latin-square slot, not counted, left out of analysis
 * and exports) and redirects to its page. The link carries a keyed hash of the study id, so only
 * someone who saw the server's output can start previews; a guessed link is a 404.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function tryItToken(key: Buffer, studyId: string): string {
  // Its own message prefix: never equal to a participant id made with the same key.
  return createHmac('sha256', key).update(`try-it\u0000${studyId}`).digest('base64url').slice(0, 22);
}

export function tryItPath(key: Buffer, studyId: string): string {
  return `/try/${encodeURIComponent(studyId)}/${tryItToken(key, studyId)}`;
}

export function isTryItToken(key: Buffer, studyId: string, token: string): boolean {
  const want = Buffer.from(tryItToken(key, studyId));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}
