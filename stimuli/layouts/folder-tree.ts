/**
 * The plain folder tree (docs/stimulus-sets.md):
 *
 *   natural/<category>/<source>.<ext>            natural stimuli (role main)
 *   <model>/<layer>/<category>/<source>.<ext>    the metamer of <source> for (model, layer)
 *   <model>/layers.txt                           the model's layers in network order, one per line
 *   practice/<category>/<source>.<ext>           natural stimuli of extra sources (role practice)
 *   masks/*.png                                  noise masks (optional; generated when absent)
 *   categories.txt                               category list in button order (optional)
 *
 * Item ids: `natural__<source>`, `practice__<source>`, `<model>__<layer>__<source>`.
 */
import path from 'node:path';
import { type Draft, type DraftItem, UNSUPPORTED_MEDIA, fileKind, ignore, naturalCompare } from '../draft.ts';
import { Slug } from '../manifest.ts';
import { readNameList } from '../name-lists.ts';
import type { Problems } from '../problems.ts';
import { collectMetadata, isMetadataFile } from '../stimulus-metadata.ts';
import { walkFiles } from '../walk.ts';
import { categoryFolderItem, stemOf } from './category-folders.ts';
import type { ScanOptions } from './scan-options.ts';

export async function scanFolderTree(dir: string, shownDir: string, opts: ScanOptions, problems: Problems): Promise<Draft> {
  const root = path.resolve(dir);
  const { files, skippedLinks } = await walkFiles(root);
  const draft: Draft = { layout: 'folder', models: [], items: [], masks: [], ignored: {} };
  for (const _ of skippedLinks) ignore(draft, 'symlinked folders (not followed)');

  if (opts.categoriesFile) {
    const names = await readNameList(path.resolve(opts.categoriesFile), opts.categoriesFile, problems, 'category');
    if (names) draft.categories = { names, shown: opts.categoriesFile };
  } else if (files.includes('categories.txt')) {
    const shown = path.join(shownDir, 'categories.txt');
    const names = await readNameList(path.join(root, 'categories.txt'), shown, problems, 'category');
    if (names) draft.categories = { names, shown };
  }

  const layersFiles = new Map<string, string>();
  // Metamers grouped by model, then by layer folder, so order problems are reported once per folder.
  const metamers = new Map<string, Map<string, { rel: string; category: string; name: string }[]>>();
  const metadataFiles: string[] = [];
  for (const rel of files) {
    const parts = rel.split('/');
    const top = parts[0]!;
    const shown = path.join(shownDir, rel);
    if (parts.length === 1 && rel === 'categories.txt') continue;
    if (isMetadataFile(rel)) {
      metadataFiles.push(rel);
      continue;
    }
    if (top === 'natural' || top === 'practice') {
      const item = categoryFolderItem(root, shownDir, rel, parts.slice(1), top === 'practice' ? 'practice' : 'main', problems);
      if (item) draft.items.push(item);
      else if (fileKind(rel) === 'other') ignore(draft, 'other files');
      continue;
    }
    if (top === 'masks') {
      const kind = fileKind(rel);
      if (kind === 'other') ignore(draft, 'other files');
      else if (parts.length !== 2) problems.add(shown, undefined, 'not in a recognised place: masks go directly in masks/');
      else draft.masks.push({ abs: path.join(root, rel), file: rel, shown });
      continue;
    }
    if (parts.length === 2 && parts[1] === 'layers.txt') {
      layersFiles.set(top, rel);
      continue;
    }
    const kind = fileKind(rel);
    if (kind === 'other') {
      ignore(draft, 'other files');
      continue;
    }
    if (parts.length !== 4) {
      problems.add(
        shown,
        undefined,
        'not in a recognised place: expected natural/<category>/<source>.<ext>, <model>/<layer>/<category>/<source>.<ext> or practice/<category>/<source>.<ext>',
      );
      continue;
    }
    if (kind === 'unsupported-media') {
      problems.add(shown, 'format', UNSUPPORTED_MEDIA);
      continue;
    }
    const [model, layer, category, name] = parts as [string, string, string, string];
    const byLayer = metamers.get(model) ?? new Map();
    metamers.set(model, byLayer);
    const list = byLayer.get(layer) ?? [];
    byLayer.set(layer, list);
    list.push({ rel, category, name });
  }

  const modelNames = [...new Set([...metamers.keys(), ...layersFiles.keys()])].sort(naturalCompare);
  for (const flagModel of Object.keys(opts.layers ?? {})) {
    if (!modelNames.includes(flagModel)) problems.add('--layers', flagModel, `model "${flagModel}" has no folder in ${shownDir}`);
  }
  for (const model of modelNames) {
    const modelShown = path.join(shownDir, model);
    if (!Slug.safeParse(model).success) {
      problems.add(modelShown, 'model', `model name "${model}" must use letters, digits, ".", "_" and "-" only`);
      continue;
    }
    let order = opts.layers?.[model] ?? null;
    let orderShown = `--layers ${model}=…`;
    const lf = layersFiles.get(model);
    if (!order && lf) {
      orderShown = path.join(shownDir, lf);
      order = await readNameList(path.join(root, lf), orderShown, problems, 'layer');
    }
    if (!order) {
      if (metamers.has(model)) {
        problems.add(
          modelShown,
          'layers',
          `no layer order for model "${model}": add ${model}/layers.txt (one layer per line, in network order) or --layers ${model}=<layer1>,<layer2>,…`,
        );
      }
      continue;
    }
    const badLayer = order.find((l) => !Slug.safeParse(l).success || l === 'natural');
    if (badLayer !== undefined) {
      problems.add(orderShown, 'layer', `layer name "${badLayer}" must use letters, digits, ".", "_" and "-" only (and not be "natural")`);
      continue;
    }
    draft.models.push({ model, layers: order });
    for (const [layer, list] of [...(metamers.get(model) ?? new Map<string, never[]>())].sort((a, b) => naturalCompare(a[0], b[0]))) {
      const index = order.indexOf(layer);
      if (index < 0) {
        problems.add(
          path.join(modelShown, layer),
          'layer',
          `layer "${layer}" is not in the layer order of model "${model}" (${orderShown}: ${order.join(', ')})`,
        );
        continue;
      }
      for (const { rel, category, name } of list) {
        const source = stemOf(name);
        if (!Slug.safeParse(source).success) {
          problems.add(
            path.join(shownDir, rel),
            'source',
            `source id "${source}" (the file name) must use letters, digits, ".", "_" and "-" only`,
          );
          continue;
        }
        const item: DraftItem = {
          abs: path.join(root, rel),
          file: rel,
          shown: path.join(shownDir, rel),
          id: `${model}__${layer}__${source}`,
          category,
          source_id: source,
          condition: { model, layer, layer_index: index + 1 },
          role: 'main',
          attributes: {},
        };
        draft.items.push(item);
      }
    }
  }

  const byFile = new Map(draft.items.map((i) => [i.file, i]));
  const { attributes, unused } = await collectMetadata(root, shownDir, metadataFiles, new Set(byFile.keys()), problems);
  for (const [file, attrs] of attributes) byFile.get(file)!.attributes = attrs;
  for (const _ of unused) ignore(draft, 'other files');
  return draft;
}
