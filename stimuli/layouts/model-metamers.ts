/**
 * The per-model layout the metamer-generating code writes (docs/design.md §6), one folder per model:
 *
 *   <model_dir>/metamers/<run>/<idx>_SOUND_<category>/orig.png            the natural source
 *   <model_dir>/metamers/<run>/<idx>_SOUND_<category>/<k>_layer_<layer>_synth.png
 *   (…/*_image_optimization.png, *_cochleagrams_optimization.png: diagnostic figures, ignored)
 *   (…/null_overlap_images/…: metamers that failed the model-side checks, ignored)
 *
 * `.wav` instead of `.png` for audio (a `.png` beside a `.wav` of the same name is its figure,
 * ignored). The model name is the folder's name unless given; layer order comes from the <k>
 * prefixes; the source id is <idx> (the same source index across models), the category what follows
 * `_SOUND_`. The natural stimulus of a source appears once per model folder: the copies must be
 * identical, and the first (in the order the folders were given) is the one stored; or, with
 * `naturalFrom`, only the named model's copies are used and the others are not compared (for
 * code that saved each model's own preprocessed copy: which natural to show is then the
 * experimenter's explicit choice).
 */
import path from 'node:path';
import { type Draft, type DraftFile, type DraftItem, UNSUPPORTED_MEDIA, extensionOf, fileKind, ignore, naturalCompare } from '../draft.ts';
import { NATURAL, Slug } from '../manifest.ts';
import { readNameList } from '../name-lists.ts';
import type { Problems } from '../problems.ts';
import { collectMetadata, isMetadataFile } from '../stimulus-metadata.ts';
import { walkFiles } from '../walk.ts';
import { addPracticeFolder } from './practice-folder.ts';
import type { ScanOptions } from './scan-options.ts';

const SOURCE_FOLDER = /^(\d+)_SOUND_(.+)$/;
const SYNTH = /^(\d+)_layer_(.+)_synth\.([A-Za-z0-9]+)$/;
const ORIG = /^orig\.([A-Za-z0-9]+)$/;

export const IGNORED_FIGURES = 'diagnostic figures (*_optimization.png)';
export const IGNORED_FAILED = 'failed metamers (null_overlap_images/)';

interface Found {
  rel: string;
  root: string;
  shownRoot: string;
  dirIndex: number;
  run: string;
  idx: string;
  category: string;
  /** null for orig. */
  layer: { k: number; name: string } | null;
  ext: string;
}

export async function scanModelMetamers(dirs: string[], opts: ScanOptions, problems: Problems): Promise<Draft> {
  const draft: Draft = { layout: 'model-metamers', models: [], items: [], masks: [], ignored: {} };
  if (opts.modelNames && opts.modelNames.length !== dirs.length) {
    problems.add(
      '--model-names',
      undefined,
      `${opts.modelNames.length} names for ${dirs.length} folders: give one name per folder, in order`,
    );
    return draft;
  }
  if (opts.categoriesFile) {
    const names = await readNameList(path.resolve(opts.categoriesFile), opts.categoriesFile, problems, 'category');
    if (names) draft.categories = { names, shown: opts.categoriesFile };
  }

  const modelOfDir: string[] = [];
  const foundByModel = new Map<string, Found[]>();
  const metadata: { root: string; shownRoot: string; files: string[]; stimuli: Map<string, DraftFile> }[] = [];
  for (const [dirIndex, dir] of dirs.entries()) {
    const root = path.resolve(dir);
    const model = opts.modelNames?.[dirIndex] ?? path.basename(root);
    if (!Slug.safeParse(model).success) {
      problems.add(dir, 'model', `model name "${model}" must use letters, digits, ".", "_" and "-" only (rename with --model-names)`);
      continue;
    }
    if (modelOfDir.includes(model)) {
      problems.add(dir, 'model', `model name "${model}" is given by two folders (rename one with --model-names)`);
      continue;
    }
    modelOfDir.push(model);
    const { files } = await walkFiles(root);
    if (!files.some((f) => f.startsWith('metamers/'))) {
      problems.add(dir, undefined, "no metamers/ folder: give the model's folder (the one holding metamers/<run>/<idx>_SOUND_<category>/)");
      continue;
    }
    const found: Found[] = [];
    foundByModel.set(model, found);
    const meta = { root, shownRoot: dir, files: [] as string[], stimuli: new Map<string, DraftFile>() };
    metadata.push(meta);
    for (const rel of files) {
      const parts = rel.split('/');
      const name = parts[parts.length - 1]!;
      if (parts.includes('null_overlap_images')) {
        ignore(draft, IGNORED_FAILED);
        continue;
      }
      if (/_optimization\.[A-Za-z0-9]+$/.test(name)) {
        ignore(draft, IGNORED_FIGURES);
        continue;
      }
      if (isMetadataFile(rel)) {
        meta.files.push(rel);
        continue;
      }
      const folder = parts.length === 4 && parts[0] === 'metamers' ? SOURCE_FOLDER.exec(parts[2]!) : null;
      const synth = SYNTH.exec(name);
      const orig = ORIG.exec(name);
      if (!folder || (!synth && !orig)) {
        ignore(draft, parts[0] === 'metamers' ? 'other files in metamers/' : 'files outside metamers/');
        continue;
      }
      const kind = fileKind(rel);
      if (kind === 'unsupported-media') {
        problems.add(path.join(dir, rel), 'format', UNSUPPORTED_MEDIA);
        continue;
      }
      if (kind === 'other') {
        ignore(draft, 'other files in metamers/');
        continue;
      }
      found.push({
        rel,
        root,
        shownRoot: dir,
        dirIndex,
        run: parts[1]!,
        idx: String(Number(folder[1])),
        category: folder[2]!,
        layer: synth ? { k: Number(synth[1]), name: synth[2]! } : null,
        ext: extensionOf(rel),
      });
    }
  }

  // Audio sets come with a figure of every sound; the WAV is the stimulus, the PNG twin is not.
  const all = [...foundByModel.values()].flat();
  const wavs = all.filter((f) => f.ext === 'wav').length;
  const audio = wavs > all.length - wavs;
  const wavStems = new Set(all.filter((f) => f.ext === 'wav').map((f) => `${f.root}\0${f.rel.replace(/\.[^.]+$/, '')}`));
  const isFigureTwin = (f: Found): boolean => audio && f.ext !== 'wav' && wavStems.has(`${f.root}\0${f.rel.replace(/\.[^.]+$/, '')}`);

  if (opts.naturalFrom && !foundByModel.has(opts.naturalFrom)) {
    problems.add(
      '--natural-from',
      undefined,
      `model "${opts.naturalFrom}" is not among the folders given (${[...foundByModel.keys()].join(', ')})`,
    );
    return draft; // everything else would follow from this mistake
  }
  const naturals = new Map<string, DraftItem>();
  const sourceCategory = new Map<string, { category: string; shown: string }>();
  for (const [model, found] of foundByModel) {
    // Layer order from the <k> prefixes, checked for consistency (one k per layer, one layer per k).
    const kOfLayer = new Map<string, Set<number>>();
    const layerOfK = new Map<number, Set<string>>();
    for (const f of found) {
      if (!f.layer || isFigureTwin(f)) continue;
      kOfLayer.set(f.layer.name, (kOfLayer.get(f.layer.name) ?? new Set()).add(f.layer.k));
      layerOfK.set(f.layer.k, (layerOfK.get(f.layer.k) ?? new Set()).add(f.layer.name));
    }
    const dirShown = found[0]?.shownRoot ?? model;
    let ok = true;
    for (const [layer, ks] of kOfLayer) {
      if (ks.size > 1) {
        problems.add(
          dirShown,
          'layer',
          `layer "${layer}" of model "${model}" has several prefixes: ${[...ks].sort((a, b) => a - b).join(', ')}_layer_${layer}_synth`,
        );
        ok = false;
      }
    }
    for (const [k, layers] of layerOfK) {
      if (layers.size > 1) {
        problems.add(dirShown, 'layer', `prefix ${k} names several layers of model "${model}": ${[...layers].sort().join(', ')}`);
        ok = false;
      }
    }
    let order = [...layerOfK.entries()].sort((a, b) => a[0] - b[0]).map(([, names]) => [...names][0]!);
    const flag = opts.layers?.[model];
    if (flag) {
      for (const layer of order)
        if (!flag.includes(layer))
          problems.add(`--layers ${model}=…`, 'layer', `layer "${layer}" found in ${dirShown} is not in the order given`);
      order = flag;
    }
    const bad = order.find((l) => !Slug.safeParse(l).success || l === NATURAL);
    if (bad !== undefined) {
      problems.add(dirShown, 'layer', `layer name "${bad}" must use letters, digits, ".", "_" and "-" only (and not be "natural")`);
      ok = false;
    }
    if (!ok) continue;
    if (order.length > 0) draft.models.push({ model, layers: order });

    for (const f of found) {
      const shown = path.join(f.shownRoot, f.rel);
      if (isFigureTwin(f)) {
        ignore(draft, 'figures of audio stimuli');
        continue;
      }
      const prior = sourceCategory.get(f.idx);
      if (prior && prior.category !== f.category) {
        problems.add(shown, 'category', `source ${f.idx} is "${f.category}" here but "${prior.category}" in ${prior.shown}`);
        continue;
      }
      if (!prior) sourceCategory.set(f.idx, { category: f.category, shown: path.join(f.shownRoot, path.posix.dirname(f.rel)) });
      const file: DraftFile = { abs: path.join(f.root, f.rel), file: dirs.length > 1 ? `${path.basename(f.root)}/${f.rel}` : f.rel, shown };
      const meta = metadata.find((m) => m.root === f.root)!;
      if (!f.layer) {
        if (opts.naturalFrom && model !== opts.naturalFrom) {
          ignore(draft, `natural copies in other model folders (--natural-from ${opts.naturalFrom})`);
          continue;
        }
        const first = naturals.get(f.idx);
        if (first) {
          (first.twins ??= []).push(file);
          // Metadata written beside a copy describes the same stimulus.
          meta.stimuli.set(f.rel, first);
        } else {
          const item: DraftItem = {
            ...file,
            id: `${NATURAL}__${f.idx}`,
            category: f.category,
            source_id: f.idx,
            condition: NATURAL,
            role: 'main',
            attributes: {},
          };
          naturals.set(f.idx, item);
          draft.items.push(item);
          meta.stimuli.set(f.rel, item);
        }
        continue;
      }
      const item: DraftItem = {
        ...file,
        id: `${model}__${f.layer.name}__${f.idx}`,
        category: f.category,
        source_id: f.idx,
        condition: { model, layer: f.layer.name, layer_index: order.indexOf(f.layer.name) + 1 },
        role: 'main',
        attributes: {},
      };
      draft.items.push(item);
      meta.stimuli.set(f.rel, item);
    }
  }

  for (const meta of metadata) {
    const { attributes, unused } = await collectMetadata(meta.root, meta.shownRoot, meta.files, new Set(meta.stimuli.keys()), problems);
    for (const [rel, attrs] of attributes) {
      const item = meta.stimuli.get(rel) as DraftItem;
      for (const [k, v] of Object.entries(attrs)) {
        if (k in item.attributes && item.attributes[k] !== v) {
          problems.add(
            path.join(meta.shownRoot, rel),
            k,
            `attribute "${k}" of source ${item.source_id}'s natural stimulus is ${JSON.stringify(item.attributes[k])} in another model folder`,
          );
        } else item.attributes[k] = v;
      }
    }
    for (const _ of unused) ignore(draft, 'other files in metamers/');
  }
  draft.models.sort((a, b) => naturalCompare(a.model, b.model));
  if (opts.practice) await addPracticeFolder(draft, opts.practice, problems);
  return draft;
}
