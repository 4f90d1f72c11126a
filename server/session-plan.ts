/**
 * A participant's trial plan, built once at session start and stored with the session, so that a
 * reload (or a server restart) continues the very same plan. Pure: (study, set, slot, random source) → plan.
 *
 * Order (docs/design.md §5): [headphone check (gate), audio only] → practice (feedback) → screening (gate)
 * → main block, in which every main source appears once in its Latin-square condition and catch
 * trials are mixed in.
 *
 * The set's practice items are split once per study into a practice pool (answers given as
 * feedback) and a pool for screening and catch trials (answers never given), so that no answer a
 * session learns in practice is the answer of a screening or catch trial in any session of the
 * study (docs/integrity.md). The headphone check's sounds are drawn per session from a random
 * source the caller passes (crypto in the server), so no sound recurs across sessions.
 */
import { type Condition, conditionKey, type Manifest, type ManifestItem, NATURAL } from '../stimuli/manifest.ts';
import { extOfMedia } from '../stimuli/blob-store.ts';
import { assignConditions, studySourceOrder } from './assignment.ts';
import { mixSeed, mulberry32, type Rng, seededShuffle } from '../stimuli/random.ts';
import type { StudyConfig } from './study-config.ts';
import type { Phase } from '../experiment/contract.ts';
import {
  drawHeadphoneTrials,
  encodeHeadphoneParams,
  headphoneAnswer,
  headphoneStimulusId,
  headphoneTrialMs,
  INTERVAL_LABELS,
} from './headphone-stimuli.ts';
import { userError } from './http-error.ts';
import { randomInt } from 'node:crypto';

export interface PlannedTrial {
  index: number;
  phase: Phase;
  stimulus_id: string;
  /**
   * `<sha256>.<ext>`: the stored file (its URL is keyed: server/stimulus-keys.ts), or
   * `generated/<32 hex>.wav`: a headphone sound's parameters, synthesised on request.
   */
  file: string;
  mask?: string;
  source_id: string;
  category: string;
  model: string;
  layer: string;
  layer_index: number;
  stimulus_ms?: number;
  /** The natural stimulus stands in for a metamer that failed the model-side checks. */
  fallback_for?: string;
  /** Headphone trials: the interval labels (their `category` is the right one). */
  choices?: string[];
  /** Minimum presentation time (server/pacing.ts); absent in plans made before pacing was checked. */
  min_ms?: number;
}

/** Plan file names of generated headphone sounds. */
export const GENERATED_PREFIX = 'generated/';

export interface StudyDesign {
  /** Conditions in display order (natural first), as `natural` or `model/layer`. */
  conditions: Condition[];
  /** Main sources in the study's seeded order (the Latin square's rows). */
  sources: string[];
  /** Items practice shows (with feedback). */
  practicePool: ManifestItem[];
  /** Items screening and catch trials show: disjoint from the practice pool in item, file and source. */
  testPool: ManifestItem[];
}

/**
 * Splits the set's practice items: `practiceCount` for practice, dealt round-robin over the
 * categories from a seeded shuffle (so practice shows every category it can), the rest for
 * screening and catch trials.
 */
function splitPracticeItems(items: ManifestItem[], categories: readonly string[], practiceCount: number, seed: number) {
  const rng = mulberry32(mixSeed(seed, 0x9ac7));
  const byCategory = categories.map((c) =>
    seededShuffle(
      items.filter((i) => i.category === c).sort((a, b) => a.id.localeCompare(b.id)),
      rng,
    ),
  );
  const dealt: ManifestItem[] = [];
  for (let round = 0; dealt.length < items.length; round++) {
    for (const list of byCategory) if (round < list.length) dealt.push(list[round]!);
  }
  return { practice: dealt.slice(0, practiceCount), test: dealt.slice(practiceCount) };
}

/** Practice items that share a file or a source with an item whose answer practice must not give. */
function practiceOverlaps(practice: ManifestItem[], others: ManifestItem[]): string[] {
  const bySha = new Map(others.filter((o) => o.sha256).map((o) => [o.sha256!, o]));
  const bySource = new Map(others.map((o) => [o.source_id, o]));
  const out: string[] = [];
  for (const p of practice) {
    const same = (p.sha256 && bySha.get(p.sha256)) || undefined;
    if (same) out.push(`${p.id} has the same file as ${same.role === 'main' ? 'main' : 'screening/catch'} item ${same.id}`);
    else {
      const source = bySource.get(p.source_id);
      if (source)
        out.push(`${p.id} shares source "${p.source_id}" with ${source.role === 'main' ? 'main' : 'screening/catch'} item ${source.id}`);
    }
  }
  return out;
}

/** The conditions and sources a study uses; throws a user error if the config does not fit the set. */
export function studyDesign(config: StudyConfig, manifest: Manifest): StudyDesign {
  if (config.modality !== manifest.modality) {
    throw userError(`study ${config.id}: modality is ${config.modality} but stimulus set ${manifest.name} is ${manifest.modality}`, 422);
  }
  const conditions: Condition[] = [];
  if (config.conditions.include_natural) conditions.push(NATURAL);
  const wanted = config.conditions.models;
  const byModel = new Map(manifest.models.map((m) => [m.model, m.layers]));
  const selections = wanted === 'all' ? manifest.models.map((m) => ({ model: m.model, layers: undefined })) : wanted;
  for (const sel of selections) {
    const layers = byModel.get(sel.model);
    if (!layers) throw userError(`study ${config.id}: conditions.models: the set ${manifest.name} has no model "${sel.model}"`, 422);
    for (const layer of sel.layers ?? layers) {
      const idx = layers.indexOf(layer);
      if (idx < 0) throw userError(`study ${config.id}: conditions.models: model "${sel.model}" has no layer "${layer}"`, 422);
      conditions.push({ model: sel.model, layer, layer_index: idx + 1 });
    }
  }
  if (conditions.length === 0) throw userError(`study ${config.id}: conditions: no condition selected`, 422);

  const naturalMain = manifest.items.filter((i) => i.role === 'main' && i.condition === NATURAL);
  let sources = studySourceOrder([...new Set(naturalMain.map((i) => i.source_id))].sort(), mixSeed(config.seed, 0x50c));
  if (config.protocol.main_sources !== 'all') sources = sources.slice(0, config.protocol.main_sources);
  if (sources.length === 0) throw userError(`study ${config.id}: the set ${manifest.name} has no natural main items`, 422);

  const practiceItems = manifest.items.filter((i) => i.role === 'practice');
  const p = config.protocol;
  const needsPool = p.practice_trials + p.screening_trials + p.catch_trials > 0;
  if (needsPool && practiceItems.length === 0) {
    throw userError(
      `study ${config.id}: protocol asks for practice/screening/catch trials but the set ${manifest.name} has no practice items (add practice/<category>/… to the set, or set those counts to 0)`,
      422,
    );
  }
  const practiceCount = p.practice_trials === 0 ? 0 : (p.practice_pool ?? p.practice_trials);
  const n = practiceItems.length;
  const needed = practiceCount + (p.screening_trials > 0 ? p.screening_trials : p.catch_trials > 0 ? 1 : 0);
  if (needed > n) {
    throw userError(
      `study ${config.id}: protocol: practice keeps ${practiceCount} of the set's practice items for itself (practice_pool), and ${p.screening_trials > 0 ? `${p.screening_trials} screening trials need as many others` : 'catch trials need at least one other'} (practice answers are given as feedback, so those items are never screening or catch items); the set ${manifest.name} has ${n} practice items`,
      422,
    );
  }
  const { practice: practicePool, test: testPool } = splitPracticeItems(practiceItems, manifest.categories, practiceCount, config.seed);
  const overlaps = practiceOverlaps(practicePool, [...testPool, ...manifest.items.filter((i) => i.role === 'main')]);
  if (overlaps.length > 0) {
    throw userError(
      `study ${config.id}: practice items must share no file or source with screening, catch or main items (practice gives their answers): ${overlaps.slice(0, 5).join('; ')}${overlaps.length > 5 ? `; and ${overlaps.length - 5} more` : ''}`,
      422,
    );
  }
  return { conditions, sources, practicePool, testPool };
}

function fileOf(item: ManifestItem): string {
  if (!item.sha256 || !item.media) throw new Error(`item ${item.id} has not been imported`);
  return `${item.sha256}.${extOfMedia(item.media)}`;
}

function conditionColumns(c: Condition): { model: string; layer: string; layer_index: number } {
  return c === NATURAL ? { model: '', layer: NATURAL, layer_index: 0 } : { model: c.model, layer: c.layer, layer_index: c.layer_index };
}

/** Draws n items, without repeats until the pool is used up, preferring those not in `avoid`. */
function draw(pool: readonly ManifestItem[], n: number, rng: Rng, avoid: ReadonlySet<string> = new Set()): ManifestItem[] {
  const fresh = seededShuffle(
    pool.filter((i) => !avoid.has(i.id)),
    rng,
  );
  const used = seededShuffle(
    pool.filter((i) => avoid.has(i.id)),
    rng,
  );
  const order = [...fresh, ...used];
  const out: ManifestItem[] = [];
  while (out.length < n && order.length > 0) out.push(order[out.length % order.length]!);
  return out;
}

export interface SessionPlan {
  trials: PlannedTrial[];
  screeningLastIndex: number | null;
  restAfter: number[];
  /** Index of the last headphone-check trial; null (or absent, in plans older than the check) without one. */
  headphoneLastIndex?: number | null;
}

/** The headphone-check trials that open an audio session: sounds of this session's own. */
function headphoneTrials(config: StudyConfig, random: () => number): Omit<PlannedTrial, 'index'>[] {
  // Configs stored before the check existed have no field: those studies keep running without it.
  const test = config.protocol.headphone_check ?? 'none';
  if (test === 'none' || config.modality !== 'audio') return [];
  return drawHeadphoneTrials(test, config.protocol.headphone_trials, random).map((params) => ({
    phase: 'headphone',
    stimulus_id: headphoneStimulusId(params),
    file: `${GENERATED_PREFIX}${encodeHeadphoneParams(params).toString('hex')}.wav`,
    source_id: `headphone-${test}`,
    category: headphoneAnswer(params),
    // Not a metamer: the condition columns read as natural, so exported rows stay valid input.
    model: '',
    layer: NATURAL,
    layer_index: 0,
    choices: [...INTERVAL_LABELS],
    min_ms: headphoneTrialMs(test),
  }));
}

/** A uniform number in [0, 1) from the operating system's generator: for what must differ per session. */
export const cryptoRandom = (): number => randomInt(0, 2 ** 47) / 2 ** 47;

/** The least time a trial is on screen or playing: fixation + image + mask, or the sound's duration. */
function minimumMs(config: StudyConfig, item: ManifestItem | undefined, t: Omit<PlannedTrial, 'index'>, masked: boolean): number {
  if (t.min_ms !== undefined) return t.min_ms;
  if (config.modality === 'audio') return item?.media?.kind === 'audio' ? Math.round(item.media.duration_s * 1000) : 0;
  const timing = config.timing;
  return timing.fixation_ms + (t.stimulus_ms ?? timing.stimulus_ms) + (masked ? timing.mask_ms : 0);
}

export function buildSessionPlan(
  config: StudyConfig,
  manifest: Manifest,
  slot: number,
  design = studyDesign(config, manifest),
  random: () => number = cryptoRandom,
): SessionPlan {
  const rng = mulberry32(mixSeed(config.seed, slot, 0x9a11));
  const p = config.protocol;
  const masks = manifest.masks.map((m) => `${m.sha256}.png`);
  const maskFor = (): string | undefined => (masks.length > 0 ? masks[Math.floor(rng() * masks.length)] : undefined);
  const itemsByKey = new Map<string, ManifestItem>();
  for (const item of manifest.items) {
    if (item.role === 'main') itemsByKey.set(`${item.source_id}\u0000${conditionKey(item.condition)}`, item);
  }

  type Draft = Omit<PlannedTrial, 'index'>;
  const natural = (item: ManifestItem, phase: Phase): Draft => ({
    phase,
    stimulus_id: item.id,
    file: fileOf(item),
    source_id: item.source_id,
    category: item.category,
    ...conditionColumns(item.condition),
  });

  const practice = draw(design.practicePool, p.practice_trials, rng).map((item, i) => ({
    ...natural(item, 'practice'),
    stimulus_ms:
      manifest.modality === 'image'
        ? i < p.slow_practice_trials
          ? config.timing.practice_stimulus_ms
          : config.timing.stimulus_ms
        : undefined,
  }));
  // Screening and catch trials come from the pool practice never shows, in any session (studyDesign
  // checked there are enough); catch trials prefer images screening did not show either.
  const screening = draw(design.testPool, p.screening_trials, rng).map((item) => natural(item, 'screening'));
  const catchTrials = draw(design.testPool, p.catch_trials, rng, new Set(screening.map((t) => t.stimulus_id))).map((item) =>
    natural(item, 'catch'),
  );

  const main: Draft[] = assignConditions(design.sources, design.conditions, slot).map(({ source, condition }) => {
    const key = `${source}\u0000${conditionKey(condition)}`;
    const item = itemsByKey.get(key);
    if (item) return natural(item, 'main');
    const fallback = itemsByKey.get(`${source}\u0000${NATURAL}`);
    if (!fallback) throw new Error(`source ${source} has no natural item`);
    return { ...natural(fallback, 'main'), fallback_for: conditionKey(condition) };
  });
  const block = seededShuffle([...main, ...catchTrials], rng);

  const headphone = headphoneTrials(config, random);
  const drafts = [...headphone, ...practice, ...screening, ...block];
  const itemById = new Map(manifest.items.map((i) => [i.id, i]));
  const trials: PlannedTrial[] = drafts.map((d, index) => {
    const t: PlannedTrial = { index, ...d };
    if (manifest.modality === 'image') {
      const mask = maskFor();
      if (mask) t.mask = mask;
    }
    if (t.stimulus_ms === undefined) delete t.stimulus_ms;
    t.min_ms = minimumMs(config, itemById.get(t.stimulus_id), t, t.mask !== undefined);
    return t;
  });
  const mainStart = headphone.length + practice.length + screening.length;
  const restAfter = [...new Set(p.rest_breaks.map((f) => mainStart + Math.floor(f * block.length) - 1))]
    .filter((i) => i >= mainStart && i < trials.length - 1)
    .sort((a, b) => a - b);
  return {
    trials,
    screeningLastIndex: screening.length > 0 ? mainStart - 1 : null,
    restAfter,
    headphoneLastIndex: headphone.length > 0 ? headphone.length - 1 : null,
  };
}
