/**
 * A folder with a `manifest.json` (the format of stimuli/manifest.ts; JSON Schema in schemas/):
 * the manifest is checked against the schema, every `file` is read relative to the folder, and
 * `sha256`/`media` are filled in (or checked, when the manifest already states them).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Draft, DraftItem } from '../draft.ts';
import { Manifest } from '../manifest.ts';
import { GENERATED_MASK_PREFIX } from '../noise-masks.ts';
import type { Problems } from '../problems.ts';
import { relativeFileProblem } from './relative-file.ts';
import type { ScanOptions } from './scan-options.ts';
import { readNameList } from '../name-lists.ts';

export async function readManifestJson(dirOrFile: string, opts: ScanOptions, problems: Problems): Promise<Draft> {
  const isFile = (await fs.stat(dirOrFile)).isFile();
  const dir = isFile ? path.dirname(dirOrFile) : dirOrFile;
  const shown = isFile ? dirOrFile : path.join(dirOrFile, 'manifest.json');
  const draft: Draft = { layout: 'manifest', models: [], items: [], masks: [], ignored: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(shown, 'utf8'));
  } catch (e) {
    problems.add(
      shown,
      undefined,
      (e as NodeJS.ErrnoException).code ? `cannot read: ${(e as NodeJS.ErrnoException).code}` : `not valid JSON: ${(e as Error).message}`,
    );
    return draft;
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    const rawItems = (raw as { items?: { file?: unknown }[] } | null)?.items;
    for (const issue of parsed.error.issues) {
      const [head, idx] = issue.path;
      const file = head === 'items' && typeof idx === 'number' ? rawItems?.[idx]?.file : undefined;
      const field = issue.path.join('.') || '(manifest)';
      problems.add(shown, typeof file === 'string' ? `${field} (${file})` : field, issue.message);
    }
    return draft;
  }
  const m = parsed.data;
  draft.name = m.name;
  draft.modality = m.modality;
  if (m.description !== undefined) draft.description = m.description;
  draft.categories = { names: m.categories, shown: `${shown} (categories)` };
  if (opts.categoriesFile) {
    const names = await readNameList(path.resolve(opts.categoriesFile), opts.categoriesFile, problems, 'category');
    if (names) draft.categories = { names, shown: opts.categoriesFile };
  }
  if (new Set(draft.categories.names).size !== draft.categories.names.length)
    problems.add(shown, 'categories', 'a category is listed twice');
  draft.models = m.models.map((x) => ({ model: x.model, layers: opts.layers?.[x.model] ?? x.layers }));
  for (const [i, item] of m.items.entries()) {
    const bad = relativeFileProblem(item.file);
    if (bad) {
      problems.add(shown, `items.${i}.file`, `${item.file}: ${bad}`);
      continue;
    }
    const d: DraftItem = {
      abs: path.resolve(dir, item.file),
      file: item.file,
      shown: path.join(dir, item.file),
      id: item.id,
      category: item.category,
      source_id: item.source_id,
      condition: item.condition,
      role: item.role,
      attributes: item.attributes,
    };
    if (item.sha256) d.expectSha256 = item.sha256;
    if (item.media) d.expectMedia = item.media;
    draft.items.push(d);
  }
  for (const [i, mask] of m.masks.entries()) {
    // Masks an import generated are listed as generated/…; they are not files in the folder, and
    // are generated again (deterministically) rather than read.
    if (
      mask.file.startsWith(GENERATED_MASK_PREFIX) &&
      !(await fs.stat(path.resolve(dir, mask.file)).then(
        () => true,
        () => false,
      ))
    ) {
      if (mask.sha256) (draft.generatedMasks ??= []).push(mask.sha256);
      continue;
    }
    const bad = relativeFileProblem(mask.file);
    if (bad) {
      problems.add(shown, `masks.${i}.file`, `${mask.file}: ${bad}`);
      continue;
    }
    draft.masks.push({
      abs: path.resolve(dir, mask.file),
      file: mask.file,
      shown: path.join(dir, mask.file),
      ...(mask.sha256 ? { expectSha256: mask.sha256 } : {}),
    });
  }
  return draft;
}
