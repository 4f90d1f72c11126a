/**
 * Checks on a stimulus set as a whole, once every file's headers are known. Every problem is
 * listed against the file that causes it. The rules come from how studies use a set: a metamer is
 * only interpretable beside its natural source (same category), the plan shows every source once
 * (so two files claiming one (source, model, layer) is ambiguous), and one set is shown on one
 * screen or through one audio path (so sizes and sample rates must agree).
 */
import { type Draft, type DraftFile, type DraftItem, naturalCompare } from './draft.ts';
import { type Media, type Modality, conditionKey, isNatural } from './manifest.ts';
import type { Problems } from './problems.ts';
import type { StimulusFileInfo } from './stimulus-file.ts';

export interface SetShape {
  modality: Modality;
  categories: string[];
  /** The size every image has (image sets). */
  image?: { width: number; height: number };
}

const describeMedia = (m: Media): string => (m.kind === 'image' ? `a ${m.format.toUpperCase()} image` : 'a WAV file');

/** The value most files share; ties go to the one met first, so the choice is deterministic. */
function majority<T>(values: T[], key: (v: T) => string): T | undefined {
  const counts = new Map<string, { v: T; n: number }>();
  for (const v of values) {
    const k = key(v);
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { v, n: 1 });
  }
  let best: { v: T; n: number } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best?.v;
}

export function checkSet(draft: Draft, infos: Map<DraftFile, StimulusFileInfo>, problems: Problems): SetShape {
  const items = draft.items;

  // Modality: declared by a manifest, else what most natural stimuli are.
  const mediaOf = (f: DraftFile): Media | undefined => infos.get(f)?.media;
  const naturalMedia = items
    .filter((i) => isNatural(i.condition))
    .map(mediaOf)
    .filter((m): m is Media => !!m);
  const allMedia = items.map(mediaOf).filter((m): m is Media => !!m);
  const modality: Modality = draft.modality ?? majority(naturalMedia.length ? naturalMedia : allMedia, (m) => m.kind)?.kind ?? 'image';
  for (const item of items) {
    const m = mediaOf(item);
    if (m && m.kind !== modality) problems.add(item.shown, 'format', `${describeMedia(m)} in an ${modality} set (modality mismatch)`);
  }

  // One size / one audio format per set.
  let image: SetShape['image'];
  if (modality === 'image') {
    const imgs = items.map(mediaOf).filter((m): m is Extract<Media, { kind: 'image' }> => m?.kind === 'image');
    const ref = majority(imgs, (m) => `${m.width}x${m.height}`);
    if (ref) {
      image = { width: ref.width, height: ref.height };
      for (const item of items) {
        const m = mediaOf(item);
        if (m?.kind === 'image' && (m.width !== ref.width || m.height !== ref.height)) {
          problems.add(
            item.shown,
            m.width !== ref.width ? 'width' : 'height',
            `image is ${m.width}×${m.height} px but the set's images are ${ref.width}×${ref.height} px (the size of most files)`,
          );
        }
      }
    }
  } else {
    const auds = items.map(mediaOf).filter((m): m is Extract<Media, { kind: 'audio' }> => m?.kind === 'audio');
    const rate = majority(auds, (m) => String(m.sample_rate));
    const chans = majority(auds, (m) => String(m.channels));
    for (const item of items) {
      const m = mediaOf(item);
      if (m?.kind !== 'audio') continue;
      if (rate && m.sample_rate !== rate.sample_rate) {
        problems.add(
          item.shown,
          'sample_rate',
          `${m.sample_rate} Hz but the set's clips are ${rate.sample_rate} Hz (the rate of most files)`,
        );
      }
      if (chans && m.channels !== chans.channels) {
        problems.add(item.shown, 'channels', `${m.channels} channel(s) but the set's clips have ${chans.channels} (most files)`);
      }
    }
  }

  // Masks: PNG images of the stimuli's size, and only for image sets.
  for (const mask of draft.masks) {
    const m = mediaOf(mask);
    if (!m) continue;
    if (modality === 'audio') problems.add(mask.shown, undefined, 'noise masks belong to image sets; this is an audio set');
    else if (m.kind !== 'image' || m.format !== 'png') problems.add(mask.shown, 'format', 'noise masks must be PNG images');
    else if (image && (m.width !== image.width || m.height !== image.height)) {
      problems.add(mask.shown, 'width', `mask is ${m.width}×${m.height} px but the set's images are ${image.width}×${image.height} px`);
    }
  }

  // Categories: declared (button order) or the sorted categories of the natural stimuli.
  let categories: string[];
  if (draft.categories) {
    categories = draft.categories.names;
    const known = new Set(categories);
    for (const item of items) {
      if (!known.has(item.category)) {
        problems.add(item.shown, 'category', `unknown category "${item.category}" (not in ${draft.categories.shown})`);
      }
    }
  } else {
    categories = [...new Set(items.filter((i) => isNatural(i.condition)).map((i) => i.category))].sort(naturalCompare);
  }
  if (categories.length < 2) {
    problems.add(
      draft.categories?.shown ?? '(set)',
      'categories',
      `a set needs at least 2 categories to choose from; found ${categories.length}`,
    );
  }

  // Models and layers: every metamer's layer is in its model's order at its layer_index.
  const models = new Map<string, string[]>();
  for (const m of draft.models) {
    if (models.has(m.model)) problems.add('(set)', 'models', `model "${m.model}" is listed twice`);
    if (new Set(m.layers).size !== m.layers.length) problems.add('(set)', `models.${m.model}`, 'a layer is listed twice');
    models.set(m.model, m.layers);
  }
  for (const item of items) {
    const c = item.condition;
    if (isNatural(c)) continue;
    const order = models.get(c.model);
    if (!order)
      problems.add(item.shown, 'model', `model "${c.model}" is not among the set's models (${[...models.keys()].join(', ') || 'none'})`);
    else if (!order.includes(c.layer))
      problems.add(item.shown, 'layer', `layer "${c.layer}" is not in the layer order of model "${c.model}" (${order.join(', ')})`);
    else if (order.indexOf(c.layer) + 1 !== c.layer_index) {
      problems.add(
        item.shown,
        'layer_index',
        `layer "${c.layer}" is layer ${order.indexOf(c.layer) + 1} of model "${c.model}", not ${c.layer_index}`,
      );
    }
  }

  // Two files claiming the same (source, condition, role), then ids used twice otherwise.
  const claims = new Map<string, DraftItem>();
  const reported = new Set<DraftItem>();
  for (const item of items) {
    const claim = `${item.role}\0${item.source_id}\0${conditionKey(item.condition)}`;
    const first = claims.get(claim);
    if (!first) {
      claims.set(claim, item);
      continue;
    }
    const what = isNatural(item.condition)
      ? `${item.role === 'practice' ? 'practice' : 'natural'} stimulus of source "${item.source_id}"`
      : `(source "${item.source_id}", model "${item.condition.model}", layer "${item.condition.layer}")`;
    problems.add(item.shown, 'source', `two files claim the ${what}: this one and ${first.shown}`);
    reported.add(item);
  }
  const ids = new Map<string, DraftItem>();
  for (const item of items) {
    const first = ids.get(item.id);
    if (!first) ids.set(item.id, item);
    else if (!reported.has(item)) problems.add(item.shown, 'id', `duplicate id "${item.id}" (also ${first.shown})`);
  }

  // Practice items are natural stimuli of sources kept apart from the main ones.
  const mainNaturals = new Map<string, DraftItem>();
  for (const item of items) if (item.role === 'main' && isNatural(item.condition)) mainNaturals.set(item.source_id, item);
  for (const item of items) {
    if (item.role !== 'practice') continue;
    if (!isNatural(item.condition)) problems.add(item.shown, 'role', 'practice items must be natural stimuli, not metamers');
    else if (mainNaturals.has(item.source_id)) {
      problems.add(
        item.shown,
        'source',
        `practice source "${item.source_id}" is also a main source (${mainNaturals.get(item.source_id)!.shown}); practice sources must be kept apart`,
      );
    }
  }
  if (mainNaturals.size === 0 && items.length > 0)
    problems.add('(set)', 'items', `no natural stimuli (role main): a set needs its sources' natural stimuli`);

  // Every metamer beside its natural source, of the same category.
  for (const item of items) {
    if (isNatural(item.condition) || item.role !== 'main') continue;
    const nat = mainNaturals.get(item.source_id);
    if (!nat) problems.add(item.shown, 'source', `metamer of source "${item.source_id}", which has no natural stimulus`);
    else if (nat.category !== item.category) {
      problems.add(
        item.shown,
        'category',
        `category "${item.category}" differs from its natural source's "${nat.category}" (${nat.shown})`,
      );
    }
  }
  return image ? { modality, categories, image } : { modality, categories };
}
