/**
 * Per-stimulus metadata kept beside the files (the generating model's prediction, the activation
 * match of a metamer, …) and carried into the manifest's `attributes`. Two forms:
 *
 * - a sidecar JSON with the stimulus's name and `.json` instead of its extension
 *   (`3_layer_avgpool_synth.json` beside `3_layer_avgpool_synth.png`): one flat object;
 * - a `metadata.csv` in any folder, with a `file` column (path relative to that folder) and one
 *   column per attribute; empty cells are left out, plain numbers become numbers.
 *
 * Values must be strings, numbers, booleans or null: the manifest keeps attributes flat so that
 * they can become CSV columns in exports.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { type AttributeValue, type Attributes, attributeFromCell } from './draft.ts';
import type { Problems } from './problems.ts';

export const METADATA_CSV = 'metadata.csv';

export function isMetadataFile(rel: string): boolean {
  return rel.endsWith('.json') || path.posix.basename(rel) === METADATA_CSV;
}

const stem = (rel: string): string => rel.replace(/\.[^./]*$/, '');

function isAttributeValue(v: unknown): v is AttributeValue {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Reads the metadata files among `files` (paths relative to `root`) for the stimuli in `stimuli`.
 * Returns attributes by stimulus path and the metadata files that were not about any stimulus
 * (the caller counts them as ignored).
 */
export async function collectMetadata(
  root: string,
  shownRoot: string,
  files: string[],
  stimuli: ReadonlySet<string>,
  problems: Problems,
): Promise<{ attributes: Map<string, Attributes>; unused: string[] }> {
  const byStem = new Map<string, string>();
  for (const s of stimuli) byStem.set(stem(s), s);
  const attributes = new Map<string, Attributes>();
  const unused: string[] = [];
  const setAttr = (stimulus: string, key: string, value: AttributeValue, shown: string, field: string): void => {
    const attrs = attributes.get(stimulus) ?? {};
    if (key in attrs && attrs[key] !== value) {
      problems.add(shown, field, `attribute "${key}" of ${stimulus} is also given as ${JSON.stringify(attrs[key])} elsewhere`);
      return;
    }
    attrs[key] = value;
    attributes.set(stimulus, attrs);
  };

  for (const rel of files) {
    if (!isMetadataFile(rel)) continue;
    const shown = path.join(shownRoot, rel);
    if (rel.endsWith('.json')) {
      const target = byStem.get(stem(rel));
      if (!target) {
        unused.push(rel);
        continue;
      }
      let obj: unknown;
      try {
        obj = JSON.parse(await fs.readFile(path.join(root, rel), 'utf8'));
      } catch (e) {
        problems.add(shown, undefined, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
        problems.add(shown, undefined, 'metadata must be one JSON object of attribute: value');
        continue;
      }
      for (const [k, v] of Object.entries(obj)) {
        if (!isAttributeValue(v)) problems.add(shown, k, 'attribute values must be strings, numbers, booleans or null');
        else setAttr(target, k, v, shown, k);
      }
      continue;
    }
    const dir = path.posix.dirname(rel);
    let rows: Record<string, string>[];
    try {
      rows = parse(await fs.readFile(path.join(root, rel)), { columns: true, bom: true, skip_empty_lines: true }) as Record<
        string,
        string
      >[];
    } catch (e) {
      problems.add(shown, undefined, `not valid CSV: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (rows.length > 0 && !('file' in rows[0]!)) {
      problems.add(shown, 'file', 'metadata.csv needs a "file" column (paths relative to its folder)');
      continue;
    }
    for (const [i, row] of rows.entries()) {
      const line = `line ${i + 2}`;
      const file = (row.file ?? '').trim();
      const target = dir === '.' ? file : path.posix.normalize(`${dir}/${file}`);
      if (!stimuli.has(target)) {
        problems.add(shown, line, `"${file}" is not a stimulus of this set`);
        continue;
      }
      for (const [k, cell] of Object.entries(row)) {
        if (k === 'file') continue;
        const v = attributeFromCell(cell);
        if (v !== undefined) setAttr(target, k, v, shown, `${line}: ${k}`);
      }
    }
  }
  return { attributes, unused };
}
