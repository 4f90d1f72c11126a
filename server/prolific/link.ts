/**
 * Linking a study to its Prolific study: the Prolific study must exist for the token's account,
 * and its completion codes should include the codes this study sends participants back with
 * (otherwise Prolific cannot tell a completion from a screen-out, or either from nothing).
 */
import { userError } from '../http-error.ts';
import type { ProlificLink } from '../store/prolific-store.ts';
import type { Store } from '../store/store.ts';
import type { ProlificClient } from './client.ts';

export interface LinkReport {
  link: ProlificLink;
  prolific: { id: string; name: string | null; status: string | null };
  /** This study's codes that the Prolific study does not list (each needs a look on Prolific). */
  codes_missing_on_prolific: { code: string; used_for: 'completion' | 'screen-out' }[];
}

const PROLIFIC_ID = /^[A-Za-z0-9]{1,64}$/;

export async function linkStudy(
  store: Store,
  client: ProlificClient,
  studyId: string,
  prolificStudyId: string,
  now = Date.now,
): Promise<LinkReport> {
  const study = await store.getStudy(studyId);
  if (!study) throw userError(`no study "${studyId}" (see metamer study list)`, 404);
  if (!PROLIFIC_ID.test(prolificStudyId))
    throw userError(`"${prolificStudyId.slice(0, 80)}" is not a Prolific study id (letters and digits, as in the study's URL on Prolific)`);
  const remote = await client.getStudy(prolificStudyId);
  const listed = new Set([...remote.completion_codes.map((c) => c.code), ...(remote.completion_code ? [remote.completion_code] : [])]);
  const wanted = [
    { code: study.config.prolific.completion_code, used_for: 'completion' as const },
    { code: study.config.prolific.screenout_code, used_for: 'screen-out' as const },
  ];
  const link = await store.linkProlificStudy(studyId, remote.id, now());
  return {
    link,
    prolific: { id: remote.id, name: remote.internal_name ?? remote.name ?? null, status: remote.status ?? null },
    codes_missing_on_prolific: wanted.filter((w) => !listed.has(w.code)),
  };
}
