/**
 * A data folder with a launched image study of the paper's size for the load benchmarks:
 * 16 categories × 25 sources = 400 main sources, one model with two layers, practice pool of 32.
 * The files are small test patterns from test/fixtures (their pixels don't matter under load).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { BlobStore } from '../stimuli/blob-store.ts';
import { importStimulusSet } from '../stimuli/import.ts';
import { openStore } from '../server/store/open-store.ts';
import { changeStudyStatus, createStudy } from '../server/studies.ts';
import type { StudyConfigInput } from '../server/study-config.ts';
import { makeImageSet, PAPER_IMAGE_CATEGORIES } from '../test/fixtures/stimulus-sets.ts';

export const CATEGORIES = PAPER_IMAGE_CATEGORIES;

export interface BenchStudy {
  dbFile: string;
  studyId: string;
}

/** `database`: a postgres:// URL to create the study in instead of the data folder's SQLite file. */
export async function makeBenchStudy(
  dir: string,
  protocol: StudyConfigInput['protocol'],
  timing?: StudyConfigInput['timing'],
  database?: string,
): Promise<BenchStudy> {
  const setDir = path.join(dir, 'set');
  await makeImageSet(setDir, {
    categories: CATEGORIES,
    sourcesPerCategory: 25,
    practicePerCategory: 2,
    models: [{ name: 'net', layers: ['early', 'late'] }],
    size: 16,
  });
  const dbFile = path.join(dir, 'data', 'metamer.db');
  const store = await openStore(database ?? dbFile);
  const { manifest } = await importStimulusSet(setDir, { name: 'bench', blobs: new BlobStore(path.join(dir, 'data', 'blobs')) });
  await store.saveStimulusSet(manifest);
  await createStudy(store, {
    id: 'bench',
    stimulus_set: 'bench',
    modality: 'image',
    prolific: { completion_code: 'BENCHDONE', screenout_code: 'BENCHOUT' },
    target_completed: 100_000,
    protocol,
    ...(timing ? { timing } : {}),
  });
  await changeStudyStatus(store, 'bench', 'launch');
  await store.close();
  return { dbFile, studyId: 'bench' };
}

/**
 * Moves every session's start back by `ms`, as for a study whose participants started a while ago:
 * the server's pacing check (server/pacing.ts) still runs on every trial, and passes.
 */
export function backdateSessions(dbFile: string, ms: number): void {
  const db = new Database(dbFile);
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('UPDATE sessions SET started_at = started_at - ?').run(ms);
  } finally {
    db.close();
  }
}

/** A trial record as the browser sends it (about 370 bytes). */
export function trialBody(index: number, response: string): string {
  const t = 1000 + index * 2500;
  return JSON.stringify({
    trial_index: index,
    response,
    rt_ms: 812.4,
    timings: {
      started: t,
      fixation_onset: t + 500.1,
      stimulus_onset: t + 800.2,
      stimulus_offset: t + 1100.3,
      mask_onset: t + 1100.3,
      mask_offset: t + 1400.4,
      choices_onset: t + 1400.4,
      response: t + 2212.8,
      frame_ms: 16.7,
    },
    evidence: { stimulus_frames: 18, stimulus_target_ms: 300, page_hidden: false, left_fullscreen: false, untrusted_events: 0 },
  });
}
