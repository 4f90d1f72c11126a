/**
 * Which condition each source gets for one participant (docs/design.md §5).
 *
 * Sources are put in one seeded order for the whole study; the participant in Latin-square slot r
 * gives the source at position i the condition (i + r) mod C. Hence, for every participant, each
 * condition gets ⌊S/C⌋ or ⌈S/C⌉ sources, and over slots 0…C−1 every (source, condition) pair is
 * seen exactly once — over C·k completed participants exactly k times.
 */
import { seededShuffle } from '../stimuli/random.ts';

export interface Assignment<S, C> {
  source: S;
  condition: C;
}

export function studySourceOrder<S>(sources: readonly S[], seed: number): S[] {
  return seededShuffle(sources, seed);
}

export function assignConditions<S, C>(orderedSources: readonly S[], conditions: readonly C[], slot: number): Assignment<S, C>[] {
  if (conditions.length === 0) throw new Error('a study needs at least one condition');
  if (!Number.isInteger(slot) || slot < 0) throw new Error(`slot must be a non-negative integer, got ${slot}`);
  const n = conditions.length;
  return orderedSources.map((source, i) => ({ source, condition: conditions[(i + slot) % n]! }));
}
