/**
 * A participant's trial plan, built once at session start and stored with the session, so that a
 * reload (or a server restart) continues the very same plan. Pure: (study, set, slot) → plan.
 *
 * Order (docs/design.md §5): [headphone check (gate), audio only] → practice (feedback) → screening (gate)
 * → main block, in which every main source appears once in its Latin-square condition and catch
 * trials are mixed in.
 */
import { type Condition, conditionKey, type Manifest, type ManifestItem, NATURAL } from '../stimuli/manifest.ts';
import { extOfMedia } from '../stimuli/blob-store.ts';
import { assignConditions, studySourceOrder } from './assignment.ts';
import { mixSeed, mulberry32, type Rng, seededShuffle } from '../stimuli/random.ts';
import type { StudyConfig } from './study-config.ts';
import type { Phase } from '../experiment/contract.ts';
import { headphoneKit, INTERVAL_LABELS } from './headphone-stimuli.ts';
import { userError } from './http-error.ts';

export interface PlannedTrial {
  index: number;
  phase: Phase;
  stimulus_id: string;
  /** `<sha256>.<ext>`: the stimulus's public, content-addressed name. */
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
}

export interface StudyDesign {
  /** Conditions in display order (natural first), as `natural` or `model/layer`. */
  conditions: Condition[];
  /** Main sources in the study's seeded order (the Latin square's rows). */
  sources: string[];
  practicePool: ManifestItem[];
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
  let sources = studySourceOrder(
    [...new Set(naturalMain.map((i) => i.source_id))].sort(),
    mixSeed(config.seed, 0x50c),
  );
  if (config.protocol.main_sources !== 'all') sources = sources.slice(0, config.protocol.main_sources);
  if (sources.length === 0) throw userError(`study ${config.id}: the set ${manifest.name} has no natural main items`, 422);

  const practicePool = manifest.items.filter((i) => i.role === 'practice');
  const p = config.protocol;
  const needsPool = p.practice_trials + p.screening_trials + p.catch_trials > 0;
  if (needsPool && practicePool.length === 0) {
    throw userError(
      `study ${config.id}: protocol asks for practice/screening/catch trials but the set ${manifest.name} has no practice items (add practice/<category>/… to the set, or set those counts to 0)`,
      422,
    );
  }
  // Practice gives the answer of every image it shows; a screening or catch trial showing one of
  // those again would test memory, not recognition.
  const n = practicePool.length;
  if (p.screening_trials > 0 && n < p.practice_trials + p.screening_trials) {
    throw userError(
      `study ${config.id}: protocol: ${p.practice_trials} practice and ${p.screening_trials} screening trials need ${p.practice_trials + p.screening_trials} different practice items so that screening never repeats an image practice answered; the set ${manifest.name} has ${n}`,
      422,
    );
  }
  if (p.catch_trials > 0 && n <= p.practice_trials) {
    throw userError(
      `study ${config.id}: protocol: catch trials need practice items that practice does not show; the set ${manifest.name} has ${n} for ${p.practice_trials} practice trials`,
      422,
    );
  }
  return { conditions, sources, practicePool };
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
  const fresh = seededShuffle(pool.filter((i) => !avoid.has(i.id)), rng);
  const used = seededShuffle(pool.filter((i) => avoid.has(i.id)), rng);
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

/** The headphone-check trials that open an audio session: the test's trial sounds in a seeded order. */
function headphoneTrials(config: StudyConfig, slot: number): Omit<PlannedTrial, 'index'>[] {
  // Configs stored before the check existed have no field: those studies keep running without it.
  const test = config.protocol.headphone_check ?? 'none';
  if (test === 'none' || config.modality !== 'audio') return [];
  const kit = headphoneKit(test);
  // A stream of its own, so the check leaves the draws of the other phases as they were.
  const rng = mulberry32(mixSeed(config.seed, slot, 0x4ead));
  const picks: typeof kit.trials = [];
  while (picks.length < config.protocol.headphone_trials) picks.push(...seededShuffle(kit.trials, rng));
  return picks.slice(0, config.protocol.headphone_trials).map((s) => ({
    phase: 'headphone',
    stimulus_id: s.id,
    file: s.file,
    source_id: `headphone-${test}`,
    category: s.answer,
    // Not a metamer: the condition columns read as natural, so exported rows stay valid input.
    model: '',
    layer: NATURAL,
    layer_index: 0,
    choices: [...INTERVAL_LABELS],
  }));
}

export function buildSessionPlan(config: StudyConfig, manifest: Manifest, slot: number, design = studyDesign(config, manifest)): SessionPlan {
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
    stimulus_ms: manifest.modality === 'image' ? (i < p.slow_practice_trials ? config.timing.practice_stimulus_ms : config.timing.stimulus_ms) : undefined,
  }));
  // Screening and catch trials never show an image whose answer practice gave (studyDesign
  // checked there are enough); catch trials prefer images screening did not show either.
  const practiced = new Set(practice.map((t) => t.stimulus_id));
  const unpracticed = design.practicePool.filter((i) => !practiced.has(i.id));
  const screening = draw(unpracticed, p.screening_trials, rng).map((item) => natural(item, 'screening'));
  const catchTrials = draw(unpracticed, p.catch_trials, rng, new Set(screening.map((t) => t.stimulus_id))).map((item) => natural(item, 'catch'));

  const main: Draft[] = assignConditions(design.sources, design.conditions, slot).map(({ source, condition }) => {
    const key = `${source}\u0000${conditionKey(condition)}`;
    const item = itemsByKey.get(key);
    if (item) return natural(item, 'main');
    const fallback = itemsByKey.get(`${source}\u0000${NATURAL}`);
    if (!fallback) throw new Error(`source ${source} has no natural item`);
    return { ...natural(fallback, 'main'), fallback_for: conditionKey(condition) };
  });
  const block = seededShuffle([...main, ...catchTrials], rng);

  const headphone = headphoneTrials(config, slot);
  const drafts = [...headphone, ...practice, ...screening, ...block];
  const trials: PlannedTrial[] = drafts.map((d, index) => {
    const t: PlannedTrial = { index, ...d };
    if (manifest.modality === 'image') {
      const mask = maskFor();
      if (mask) t.mask = mask;
    }
    if (t.stimulus_ms === undefined) delete t.stimulus_ms;
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
