/**
 * The web copy of a stimulus set used for the paper's online experiments (docs/design.md §6):
 *
 *   experiment<N>_images/<m>_<model>/<l>_<layer>/<idx>_<model>_<layer>.png    metamers
 *   experiment<N>_images/0_orig/0_orig/<idx>_orig_orig.png                    natural stimuli
 *
 * (`.wav` for audio). The folder given is `experiment<N>_…` itself or a folder holding exactly one
 * such folder. Models are ordered by <m>, layers by <l>; a file whose name disagrees with its
 * folders (`3_alexnet_relu2.png` under `2_relu1/`) is refused, since that is how a layer gets
 * mislabelled. Categories come from a file mapping source index → category (--source-categories,
 * default `source_categories.csv` or `.json` in the folder or beside it): a CSV with columns
 * `source,category` or a JSON object `{"17": "bear", …}`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { type Draft, type DraftItem, UNSUPPORTED_MEDIA, fileKind, ignore, naturalCompare } from '../draft.ts';
import { NATURAL, Slug } from '../manifest.ts';
import { readNameList } from '../name-lists.ts';
import type { Problems } from '../problems.ts';
import { collectMetadata, isMetadataFile } from '../stimulus-metadata.ts';
import { walkFiles } from '../walk.ts';
import { addPracticeFolder } from './practice-folder.ts';
import type { ScanOptions } from './scan-options.ts';

const NUMBERED = /^(\d+)_(.+)$/;
const ORIG_FOLDER = '0_orig';
const ORIG_FILE = /^(\d+)_orig_orig\.([A-Za-z0-9]+)$/;
export const SOURCE_CATEGORY_FILES = ['source_categories.csv', 'source_categories.json'];

const isDir = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
const isFile = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/** Reads the source index → category map; keys normalised like the file names' <idx>. */
export async function readSourceCategories(file: string, problems: Problems): Promise<Map<string, string> | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    problems.add(file, undefined, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    return null;
  }
  const map = new Map<string, string>();
  const put = (key: string, category: string, where: string): void => {
    const idx = /^\d+$/.test(key.trim()) ? String(Number(key.trim())) : null;
    if (idx === null) problems.add(file, where, `source "${key}" is not a source index (a whole number)`);
    else if (!category.trim()) problems.add(file, where, `no category for source ${key}`);
    else if (map.has(idx) && map.get(idx) !== category.trim()) problems.add(file, where, `source ${idx} is given two categories`);
    else map.set(idx, category.trim());
  };
  if (file.toLowerCase().endsWith('.json')) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      problems.add(file, undefined, `not valid JSON: ${(e as Error).message}`);
      return null;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      problems.add(file, undefined, 'expected a JSON object {"<source index>": "<category>", …}');
      return null;
    }
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'string') problems.add(file, k, 'the category must be a string');
      else put(k, v, k);
    }
    return map;
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (e) {
    problems.add(file, undefined, `not valid CSV: ${(e as Error).message}`);
    return null;
  }
  const keyCol = ['source', 'source_id', 'idx', 'index'].find((c) => rows[0] && c in rows[0]);
  if (!keyCol || !rows[0] || !('category' in rows[0])) {
    problems.add(file, undefined, 'expected columns source,category (one row per source index)');
    return null;
  }
  for (const [i, row] of rows.entries()) put(row[keyCol] ?? '', row.category ?? '', `line ${i + 2}`);
  return map;
}

export async function scanWebLayout(dir: string, opts: ScanOptions, problems: Problems): Promise<Draft> {
  const draft: Draft = { layout: 'web-layout', models: [], items: [], masks: [], ignored: {} };
  let rootShown = dir;
  if (!(await isDir(path.join(dir, ORIG_FOLDER)))) {
    const subs = (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^experiment\d+_/.test(e.name));
    const withOrig: string[] = [];
    for (const s of subs) if (await isDir(path.join(dir, s.name, ORIG_FOLDER))) withOrig.push(s.name);
    if (withOrig.length !== 1) {
      problems.add(
        dir,
        undefined,
        withOrig.length === 0
          ? `no ${ORIG_FOLDER}/ folder: give the experiment<N>_images folder (holding ${ORIG_FOLDER}/${ORIG_FOLDER}/<idx>_orig_orig.png and <m>_<model>/<l>_<layer>/)`
          : `several experiment folders (${withOrig.join(', ')}): give one of them`,
      );
      return draft;
    }
    rootShown = path.join(dir, withOrig[0]!);
  }
  const root = path.resolve(rootShown);

  let mapFile = opts.sourceCategories;
  if (!mapFile) {
    for (const base of [rootShown, path.dirname(rootShown), dir]) {
      for (const name of SOURCE_CATEGORY_FILES) {
        if (!mapFile && (await isFile(path.join(base, name)))) mapFile = path.join(base, name);
      }
    }
  }
  if (!mapFile) {
    problems.add(
      dir,
      'categories',
      `no source → category map: give --source-categories <file> (CSV source,category or JSON), or put ${SOURCE_CATEGORY_FILES.join(' or ')} in the folder`,
    );
    return draft;
  }
  const categoryOf = await readSourceCategories(mapFile, problems);
  if (!categoryOf) return draft;
  if (opts.categoriesFile) {
    const names = await readNameList(path.resolve(opts.categoriesFile), opts.categoriesFile, problems, 'category');
    if (names) draft.categories = { names, shown: opts.categoriesFile };
  }

  const { files } = await walkFiles(root);
  const models = new Map<string, { m: number; layers: Map<string, number> }>();
  const modelOfM = new Map<number, string>();
  const metadataFiles: string[] = [];
  const pending: { rel: string; idx: string; model: string | null; layer: string | null }[] = [];
  for (const rel of files) {
    const parts = rel.split('/');
    const shown = path.join(rootShown, rel);
    if (path.posix.basename(rel) === path.basename(mapFile)) continue;
    if (isMetadataFile(rel)) {
      metadataFiles.push(rel);
      continue;
    }
    const kind = fileKind(rel);
    if (kind === 'other') {
      ignore(draft, 'other files');
      continue;
    }
    if (parts.length !== 3) {
      problems.add(
        shown,
        undefined,
        'not in a recognised place: expected <m>_<model>/<l>_<layer>/<idx>_<model>_<layer>.<ext> or 0_orig/0_orig/<idx>_orig_orig.<ext>',
      );
      continue;
    }
    if (kind === 'unsupported-media') {
      problems.add(shown, 'format', UNSUPPORTED_MEDIA);
      continue;
    }
    const [mdir, ldir, name] = parts as [string, string, string];
    if (mdir === ORIG_FOLDER || ldir === ORIG_FOLDER) {
      const o = ORIG_FILE.exec(name);
      if (mdir !== ORIG_FOLDER || ldir !== ORIG_FOLDER || !o) {
        problems.add(shown, undefined, `natural stimuli go in ${ORIG_FOLDER}/${ORIG_FOLDER}/<idx>_orig_orig.<ext>`);
        continue;
      }
      pending.push({ rel, idx: String(Number(o[1])), model: null, layer: null });
      continue;
    }
    const mm = NUMBERED.exec(mdir);
    const lm = NUMBERED.exec(ldir);
    if (!mm || !lm) {
      problems.add(shown, undefined, `folders must be <m>_<model>/<l>_<layer> (numbered), not ${mdir}/${ldir}`);
      continue;
    }
    const [m, model] = [Number(mm[1]), mm[2]!];
    const [l, layer] = [Number(lm[1]), lm[2]!];
    const suffix = `_${model}_${layer}.`;
    const fm = /^(\d+)_(.+)$/.exec(name);
    if (!fm || !name.slice(fm[1]!.length).startsWith(suffix)) {
      problems.add(
        shown,
        'layer',
        `the name should be <idx>_${model}_${layer}.<ext> in ${mdir}/${ldir}/; a file named otherwise may be mislabelled`,
      );
      continue;
    }
    const entry = models.get(model) ?? { m, layers: new Map<string, number>() };
    if (entry.m !== m) {
      problems.add(shown, 'model', `model "${model}" is numbered both ${entry.m} and ${m}`);
      continue;
    }
    const other = modelOfM.get(m);
    if (other !== undefined && other !== model) {
      problems.add(shown, 'model', `model number ${m} is used by "${other}" and "${model}"`);
      continue;
    }
    modelOfM.set(m, model);
    models.set(model, entry);
    const prevL = entry.layers.get(layer);
    if (prevL !== undefined && prevL !== l) {
      problems.add(shown, 'layer', `layer "${layer}" of model "${model}" is numbered both ${prevL} and ${l}`);
      continue;
    }
    const clash = [...entry.layers].find(([name, n]) => n === l && name !== layer);
    if (clash) {
      problems.add(shown, 'layer', `layer number ${l} of model "${model}" is used by "${clash[0]}" and "${layer}"`);
      continue;
    }
    entry.layers.set(layer, l);
    pending.push({ rel, idx: String(Number(fm[1])), model, layer });
  }

  const orders = new Map<string, string[]>();
  for (const [model, { m, layers }] of [...models].sort((a, b) => a[1].m - b[1].m || naturalCompare(a[0], b[0]))) {
    void m;
    let order = [...layers].sort((a, b) => a[1] - b[1]).map(([name]) => name);
    const flag = opts.layers?.[model];
    if (flag) {
      for (const layer of order)
        if (!flag.includes(layer))
          problems.add(`--layers ${model}=…`, 'layer', `layer "${layer}" found in ${rootShown} is not in the order given`);
      order = flag;
    }
    const bad = [model, ...order].find((n) => !Slug.safeParse(n).success);
    if (bad !== undefined || order.includes(NATURAL)) {
      problems.add(rootShown, 'model', `model and layer names must use letters, digits, ".", "_" and "-" only: "${bad ?? NATURAL}"`);
      continue;
    }
    orders.set(model, order);
    draft.models.push({ model, layers: order });
  }

  const byRel = new Map<string, DraftItem>();
  for (const p of pending) {
    const shown = path.join(rootShown, p.rel);
    const category = categoryOf.get(p.idx);
    if (category === undefined) {
      problems.add(shown, 'category', `source ${p.idx} has no category in ${mapFile}`);
      continue;
    }
    let item: DraftItem;
    if (p.model === null || p.layer === null) {
      item = {
        abs: path.join(root, p.rel),
        file: p.rel,
        shown,
        id: `${NATURAL}__${p.idx}`,
        category,
        source_id: p.idx,
        condition: NATURAL,
        role: 'main',
        attributes: {},
      };
    } else {
      const order = orders.get(p.model);
      if (!order) continue;
      item = {
        abs: path.join(root, p.rel),
        file: p.rel,
        shown,
        id: `${p.model}__${p.layer}__${p.idx}`,
        category,
        source_id: p.idx,
        condition: { model: p.model, layer: p.layer, layer_index: order.indexOf(p.layer) + 1 },
        role: 'main',
        attributes: {},
      };
    }
    draft.items.push(item);
    byRel.set(p.rel, item);
  }
  const { attributes, unused } = await collectMetadata(root, rootShown, metadataFiles, new Set(byRel.keys()), problems);
  for (const [rel, attrs] of attributes) byRel.get(rel)!.attributes = attrs;
  for (const _ of unused) ignore(draft, 'other files');
  if (opts.practice) await addPracticeFolder(draft, opts.practice, problems);
  return draft;
}
