/**
 * The sessions' quality flags as the Prolific loop reads them: the evidence module's
 * (server/session-quality.ts, docs/integrity.md) for every session of the study, looked up by
 * session id. Approval decides on them: `--all-unflagged` approves only sessions without one.
 */
import type { QualityFlag } from '../../analysis/quality-flags.ts';
import { studySessionFlags } from '../session-quality.ts';
import type { Store } from '../store/store.ts';

export type { QualityFlag };

/** The flags of one session; empty when it has none. */
export type FlagsOf = (session: { id: string }) => QualityFlag[];

const NO_FLAGS: FlagsOf = () => [];

/**
 * The flags of a study's sessions. Deriving them reads every session's trials, so `needed: false`
 * skips that (the dashboard polls its panel every few seconds and needs no flags when nobody
 * awaits review).
 */
export async function sessionFlags(store: Store, studyId: string, needed = true): Promise<FlagsOf> {
  const study = needed ? await store.getStudy(studyId) : undefined;
  if (!study) return NO_FLAGS;
  const flags = await studySessionFlags(store, study);
  return (s) => flags.get(s.id) ?? [];
}
