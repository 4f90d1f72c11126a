/**
 * The sessions' quality flags, from the evidence module (server/session-quality.ts, built in
 * parallel) through its one published function:
 *
 *   studySessionFlags(store, study): Promise<Map<string, { code: string; reason: string }[]>>
 *
 * with `study` the study's id and the map keyed by session (its id, or its participant id: both
 * are looked up). Until that module is part of this build, flags are *unavailable*, never "none":
 * the review lists say so and `--all-unflagged` refuses to run. The import is dynamic for that
 * reason only; once the module has landed it should become a static import of this one file.
 */
import type { Store } from '../store/store.ts';

export interface QualityFlag {
  code: string;
  reason: string;
}

type StudySessionFlags = (store: Store, study: string) => Promise<Map<string, QualityFlag[]>>;

const MODULE_URL = new URL('../session-quality.ts', import.meta.url).href;

let source: Promise<StudySessionFlags | null> | undefined;

const pick = (mod: { studySessionFlags?: StudySessionFlags }) =>
  typeof mod.studySessionFlags === 'function' ? mod.studySessionFlags : null;

async function loadSource(): Promise<StudySessionFlags | null> {
  try {
    return pick(await import(MODULE_URL));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find module|Failed to load url/.test(String(e)))
      return null;
    // The bundled CLI and server run JavaScript (bin/cli-build.js): a TypeScript module they do not
    // bundle is compiled on the fly instead, until the import is made static.
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
    const { tsImport } = await import('tsx/esm/api');
    return pick(await tsImport(MODULE_URL, import.meta.url));
  }
}

export interface SessionFlags {
  /** False when this build has no quality flags at all. */
  available: boolean;
  /** The flags of a session (by its id or pseudonymous participant id); empty when it has none. */
  of(session: { id: string; participant_id: string }): QualityFlag[];
}

const NO_FLAGS = { of: () => [] };

/**
 * The flags of a study's sessions. `needed: false` only answers whether flags exist in this build
 * (the dashboard polls its panel every few seconds and needs no flags when nobody awaits review).
 */
export async function sessionFlags(store: Store, studyId: string, needed = true): Promise<SessionFlags> {
  source ??= loadSource();
  const fn = await source;
  if (!fn || !needed) return { available: fn !== null, ...NO_FLAGS };
  const flags = await fn(store, studyId);
  return { available: true, of: (s) => flags.get(s.id) ?? flags.get(s.participant_id) ?? [] };
}
