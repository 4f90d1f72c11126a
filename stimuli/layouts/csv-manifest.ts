/**
 * A CSV manifest: one row per stimulus, paths relative to the CSV's folder.
 *
 *   id           optional; default natural__<source_id>, practice__<source_id>, <model>__<layer>__<source_id>
 *   file         required; relative path ("/" separators)
 *   category     required
 *   source_id    required
 *   model        empty for natural stimuli
 *   layer        empty or "natural" for natural stimuli
 *   layer_index  1-based position of the layer in the model; optional when --layers gives the order
 *   role         main (default) or practice
 *   …            any other column becomes an attribute (empty cells left out, plain numbers as numbers)
 *
 * The import argument is the CSV file, or a folder holding `manifest.csv`. A `categories.txt`
 * beside it (or --categories-file) fixes the category order.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { type Attributes, type Draft, attributeFromCell, naturalCompare } from '../draft.ts';
import { type Condition, NATURAL, Slug } from '../manifest.ts';
import { readNameList } from '../name-lists.ts';
import type { Problems } from '../problems.ts';
import { relativeFileProblem } from './relative-file.ts';
import type { ScanOptions } from './scan-options.ts';

export const CSV_COLUMNS = ['id', 'file', 'category', 'source_id', 'model', 'layer', 'layer_index', 'role'] as const;
const REQUIRED = ['file', 'category', 'source_id'] as const;

export async function readCsvManifest(dirOrFile: string, opts: ScanOptions, problems: Problems): Promise<Draft> {
  const isFile = (await fs.stat(dirOrFile)).isFile();
  const dir = isFile ? path.dirname(dirOrFile) : dirOrFile;
  const shown = isFile ? dirOrFile : path.join(dirOrFile, 'manifest.csv');
  const draft: Draft = { layout: 'csv', models: [], items: [], masks: [], ignored: {} };
  let rows: Record<string, string>[];
  try {
    rows = parse(await fs.readFile(shown), { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.add(shown, undefined, code && !code.startsWith('CSV_') ? `cannot read: ${code}` : `not valid CSV: ${(e as Error).message}`);
    return draft;
  }
  if (rows.length === 0) {
    problems.add(shown, undefined, 'no rows');
    return draft;
  }
  const columns = Object.keys(rows[0]!);
  const missingCols = REQUIRED.filter((c) => !columns.includes(c));
  if (missingCols.length) {
    problems.add(shown, missingCols.join(', '), `missing column${missingCols.length > 1 ? 's' : ''} (required: ${REQUIRED.join(', ')})`);
    return draft;
  }
  const extra = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));

  const categoriesFile = opts.categoriesFile ?? path.join(dir, 'categories.txt');
  if (
    opts.categoriesFile ||
    (await fs.stat(categoriesFile).then(
      (s) => s.isFile(),
      () => false,
    ))
  ) {
    const names = await readNameList(path.resolve(categoriesFile), categoriesFile, problems, 'category');
    if (names) draft.categories = { names, shown: categoriesFile };
  }

  // Layer positions as the rows state them, checked for consistency before they become an order.
  const stated = new Map<string, Map<string, Set<number>>>();
  const unindexed = new Set<string>();
  const pending: { line: string; row: Record<string, string>; model: string; layer: string; index: number | null }[] = [];
  for (const [i, row] of rows.entries()) {
    const line = `line ${i + 2}`;
    const at = (field: string, message: string): void => problems.add(shown, `${line}: ${field}`, message);
    const file = row.file ?? '';
    const bad = relativeFileProblem(file);
    if (bad) {
      at('file', bad);
      continue;
    }
    for (const col of ['category', 'source_id'] as const) if (!row[col]) at(col, 'empty');
    if (!row.category || !row.source_id) continue;
    if (!Slug.safeParse(row.source_id).success) {
      at('source_id', `"${row.source_id}" must use letters, digits, ".", "_" and "-" only`);
      continue;
    }
    const model = row.model ?? '';
    const layer = row.layer ?? '';
    const natural = model === '' && (layer === '' || layer === NATURAL);
    if (!natural && (model === '' || layer === '' || layer === NATURAL)) {
      at(
        model === '' ? 'model' : 'layer',
        'a metamer needs both model and layer (leave both empty, or layer "natural", for a natural stimulus)',
      );
      continue;
    }
    let index: number | null = null;
    if (!natural && row.layer_index) {
      index = Number(row.layer_index);
      if (!Number.isInteger(index) || index < 1) {
        at('layer_index', `"${row.layer_index}" is not a whole number ≥ 1`);
        continue;
      }
    }
    if (!natural) {
      if (index === null) unindexed.add(model);
      else {
        const byLayer = stated.get(model) ?? new Map<string, Set<number>>();
        stated.set(model, byLayer);
        byLayer.set(layer, (byLayer.get(layer) ?? new Set()).add(index));
      }
    }
    pending.push({ line, row, model: natural ? '' : model, layer: natural ? '' : layer, index });
  }

  const orders = new Map<string, string[]>();
  const models = [...new Set(pending.filter((p) => p.model).map((p) => p.model))].sort(naturalCompare);
  for (const model of models) {
    const flag = opts.layers?.[model];
    if (flag) {
      orders.set(model, flag);
      continue;
    }
    if (unindexed.has(model)) {
      problems.add(
        shown,
        `layer_index`,
        `model "${model}" has rows without layer_index: give every row of it a layer_index, or --layers ${model}=<layer1>,<layer2>,…`,
      );
      continue;
    }
    const byLayer = stated.get(model)!;
    const byIndex = new Map<number, string>();
    let ok = true;
    for (const [layer, idxs] of byLayer) {
      if (idxs.size > 1) {
        problems.add(
          shown,
          'layer_index',
          `layer "${layer}" of model "${model}" has several layer_index values: ${[...idxs].sort((a, b) => a - b).join(', ')}`,
        );
        ok = false;
        continue;
      }
      const idx = [...idxs][0]!;
      const other = byIndex.get(idx);
      if (other !== undefined) {
        problems.add(shown, 'layer_index', `layers "${other}" and "${layer}" of model "${model}" both have layer_index ${idx}`);
        ok = false;
      }
      byIndex.set(idx, layer);
    }
    if (!ok) continue;
    const idxs = [...byIndex.keys()].sort((a, b) => a - b);
    if (idxs.some((v, i) => v !== i + 1)) {
      problems.add(
        shown,
        'layer_index',
        `model "${model}" has layer_index ${idxs.join(', ')}: they must run 1, 2, … without gaps (renumber, or give the full order with --layers)`,
      );
      continue;
    }
    orders.set(
      model,
      idxs.map((i) => byIndex.get(i)!),
    );
  }
  draft.models = models.filter((m) => orders.has(m)).map((model) => ({ model, layers: orders.get(model)! }));

  for (const { line, row, model, layer, index } of pending) {
    const at = (field: string, message: string): void => problems.add(shown, `${line}: ${field}`, message);
    let condition: Condition = NATURAL;
    if (model) {
      const order = orders.get(model);
      if (!order) continue;
      const pos = order.indexOf(layer) + 1;
      condition = { model, layer, layer_index: index ?? (pos || 1) };
    }
    const role = row.role || 'main';
    if (role !== 'main' && role !== 'practice') {
      at('role', `"${role}" must be main or practice`);
      continue;
    }
    const attributes: Attributes = {};
    for (const c of extra) {
      const v = attributeFromCell(row[c] ?? '');
      if (v !== undefined) attributes[c] = v;
    }
    const sourceId = row.source_id!;
    const id =
      row.id || (condition === NATURAL ? `${role === 'practice' ? 'practice' : NATURAL}__${sourceId}` : `${model}__${layer}__${sourceId}`);
    draft.items.push({
      abs: path.resolve(dir, row.file!),
      file: row.file!,
      shown: path.join(dir, row.file!),
      id,
      category: row.category!,
      source_id: sourceId,
      condition,
      role,
      attributes,
    });
  }
  return draft;
}
