/**
 * The network bench's stimulus sets, the paper's size (Feather et al. 2023): 16 categories × 25
 * sources = 400 main stimuli, plus one practice-pool item per category (the study's catch trials
 * come from it). Written at bench time into a temporary folder, never committed.
 *
 * - image: 224×224 RGB PNGs, striped patterns with enough seeded pixel noise that deflate cannot
 *   shrink them much: ~105 KB each, within the paper's 100–150 KB.
 * - audio: 2 s, 20 kHz, 16-bit mono WAVs (80 KB each), the paper's format.
 *
 * Test patterns and tones, not metamers: only their size and format matter to a network bench.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeAudioSet, patternPng } from '../test/fixtures/stimulus-sets.ts';
import { CATEGORIES } from './study-fixture.ts';

export const SOURCES_PER_CATEGORY = 25;
const SEED = 17;
/**
 * The fixture generator's noise grows with a metamer's layer; the first layer's (±17 grey levels
 * around a stripe pattern) is what makes a 224 px PNG about 105 KB.
 */
const NOISE_LEVEL = 1;

async function put(file: string, data: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, data);
}

async function writeImageSet(dir: string): Promise<void> {
  let n = 0;
  for (const category of CATEGORIES) {
    for (let i = 0; i < SOURCES_PER_CATEGORY; i++) {
      const source = `s${String(++n).padStart(3, '0')}`;
      await put(path.join(dir, 'natural', category, `${source}.png`), patternPng(224, category, source, NOISE_LEVEL, SEED));
    }
    await put(path.join(dir, 'practice', category, `p-${category}.png`), patternPng(224, category, `p-${category}`, NOISE_LEVEL, SEED));
  }
  await put(path.join(dir, 'categories.txt'), `${CATEGORIES.join('\n')}\n`);
}

/** Writes the set into `dir` (which must not exist yet). */
export async function writePaperSizeSet(dir: string, modality: 'image' | 'audio'): Promise<void> {
  if (modality === 'image') return writeImageSet(dir);
  await makeAudioSet(dir, {
    categories: CATEGORIES,
    sourcesPerCategory: SOURCES_PER_CATEGORY,
    practicePerCategory: 1,
    models: [],
    duration: 2,
    seed: SEED,
  });
}
