/**
 * Getting a stimulus set into the platform: read a folder in one of the accepted layouts
 * (docs/stimulus-sets.md), check every file's headers and the set as a whole, and only when there
 * is no problem at all store the files in the content-addressed blob store and return the manifest
 * (with sha256 and media for every item and mask). Saving the manifest in the database is the
 * caller's step (`saveStimulusSet`).
 *
 * The manifest is deterministic (stable order, no timestamps, paths relative to the folder given),
 * so importing the same set again gives the same manifest and `saveStimulusSet` reports 'unchanged'.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from './blob-store.ts';
import { BlobStaging } from './blob-staging.ts';
import { type ImportReport, buildReport } from './import-report.ts';
import { detectLayout } from './layout-detection.ts';
import { type Draft, type DraftFile, type DraftItem, type ImportFormat, IMPORT_FORMATS, naturalCompare } from './draft.ts';
import { readCsvManifest } from './layouts/csv-manifest.ts';
import { scanFolderTree } from './layouts/folder-tree.ts';
import { readManifestJson } from './layouts/manifest-json.ts';
import { scanModelMetamers } from './layouts/model-metamers.ts';
import type { ScanOptions } from './layouts/scan-options.ts';
import { scanWebLayout } from './layouts/web-layout.ts';
import { Manifest, type ManifestInput, Slug, isNatural } from './manifest.ts';
import { formatOfExtension, MediaHeaderError } from './media-headers.ts';
import { DEFAULT_MASK_COUNT, GENERATED_MASK_PREFIX, generateNoiseMasks } from './noise-masks.ts';
import { type Problem, Problems, StimulusSetError } from './problems.ts';
import { type SetShape, checkSet } from './set-checks.ts';
import { type StimulusFileInfo, readStimulusFile } from './stimulus-file.ts';

export { IMPORT_FORMATS, type ImportFormat } from './draft.ts';
export { type Problem, StimulusSetError, formatProblem } from './problems.ts';
export type { ImportReport, LayerReport } from './import-report.ts';
export { detectLayout } from './layout-detection.ts';

export interface ImportOptions extends ScanOptions {
  /** Set name (default: the manifest's name, else the folder's name). */
  name?: string;
  /**
   * Layout; detected when absent: manifest.json → 'manifest', manifest.csv → 'csv', a metamers/
   * folder → 'model-metamers', 0_orig/ or experiment<N>_…/0_orig/ → 'web-layout', else 'folder'.
   */
  from?: ImportFormat;
  onProgress?: (done: number, total: number) => void;
  /** Files read at once (default 8): enough to keep a disk busy, few enough to bound memory. */
  concurrency?: number;
}

export interface StoreOptions extends ImportOptions {
  blobs: BlobStore;
  /**
   * Called with the checked manifest before any file enters the store; if it throws, nothing is
   * stored and the error propagates (the CLI refuses here a name taken by a different set).
   */
  beforeCommit?: (manifest: Manifest) => void | Promise<void>;
}

export interface ImportResult {
  manifest: Manifest;
  report: ImportReport;
}

export interface ValidationResult {
  /** The manifest, when there was no problem. */
  manifest?: Manifest;
  report?: ImportReport;
  problems: Problem[];
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of start. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function readError(e: unknown): { field?: string; message: string } {
  if (e instanceof MediaHeaderError) return { field: e.field, message: e.message };
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { message: 'file not found' };
  if (code === 'EACCES' || code === 'EPERM') return { message: 'cannot read the file (permission denied)' };
  if (code === 'EISDIR') return { message: 'is a folder, not a file' };
  return { message: `cannot read the file: ${e instanceof Error ? e.message : String(e)}` };
}

async function scan(dirs: string[], opts: ImportOptions, problems: Problems): Promise<Draft> {
  if (dirs.length === 0) throw Object.assign(new Error('no folder given'), { expose: true as const });
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) throw Object.assign(new Error(`${d}: no such file or folder`), { expose: true as const });
  }
  const from = opts.from ?? (await detectLayout(dirs[0]!));
  if (!IMPORT_FORMATS.includes(from)) {
    throw Object.assign(new Error(`--from ${String(from)}: expected one of ${IMPORT_FORMATS.join(', ')}`), { expose: true as const });
  }
  if (from !== 'model-metamers' && dirs.length > 1) {
    throw Object.assign(new Error(`only --from model-metamers takes several folders (one per model); got ${dirs.length}`), {
      expose: true as const,
    });
  }
  const dir = dirs[0]!;
  switch (from) {
    case 'folder':
      return scanFolderTree(dir, dir, opts, problems);
    case 'manifest':
      return readManifestJson(dir, opts, problems);
    case 'csv':
      return readCsvManifest(dir, opts, problems);
    case 'model-metamers':
      return scanModelMetamers(dirs, opts, problems);
    case 'web-layout':
      return scanWebLayout(dir, opts, problems);
  }
}

/** Stable manifest order: main naturals, practice, then metamers by model order, layer, source. */
function itemOrder(models: Draft['models']): (a: DraftItem, b: DraftItem) => number {
  const modelRank = new Map(models.map((m, i) => [m.model, i]));
  const rank = (i: DraftItem): number[] => {
    if (isNatural(i.condition)) return [i.role === 'main' ? 0 : 1, 0, 0];
    return [2, modelRank.get(i.condition.model) ?? Number.MAX_SAFE_INTEGER, i.condition.layer_index];
  };
  return (a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let k = 0; k < 3; k++) if (ra[k] !== rb[k]) return ra[k]! - rb[k]!;
    return naturalCompare(a.source_id, b.source_id) || naturalCompare(a.id, b.id) || naturalCompare(a.file, b.file);
  };
}

async function run(
  dirs: string[],
  opts: ImportOptions & Partial<Pick<StoreOptions, 'beforeCommit'>>,
  blobs: BlobStore | null,
): Promise<ValidationResult & { layout?: ImportFormat }> {
  const problems = new Problems();
  const draft = await scan(dirs, opts, problems);
  if (draft.items.length === 0) {
    if (problems.size === 0)
      problems.add(dirs[0]!, undefined, `no stimuli found in the ${draft.layout} layout (see docs/stimulus-sets.md)`);
    return { problems: problems.sorted() };
  }
  const name = opts.name ?? draft.name ?? defaultName(dirs);
  if (!Slug.safeParse(name).success) {
    problems.add(
      opts.name ? '--name' : dirs[0]!,
      'name',
      `set name "${name}" must use letters, digits, ".", "_" and "-" only (give one with --name)`,
    );
  }

  const staging = blobs ? await BlobStaging.open(blobs) : null;
  try {
    const files: DraftFile[] = [...draft.items, ...draft.masks, ...draft.items.flatMap((i) => i.twins ?? [])];
    const infos = new Map<DraftFile, StimulusFileInfo>();
    let done = 0;
    let bytes = 0;
    opts.onProgress?.(0, files.length);
    await pool(files, opts.concurrency ?? 8, async (f) => {
      try {
        // Once problems are known nothing will be stored: keep reading (to list every problem)
        // but stop writing to staging.
        const info = await readStimulusFile(
          f.abs,
          formatOfExtension(f.abs) ?? undefined,
          problems.size === 0 ? (staging ?? undefined) : undefined,
        );
        infos.set(f, info);
        bytes += info.bytes;
        if (f.expectSha256 && f.expectSha256 !== info.sha256) {
          problems.add(f.shown, 'sha256', `the file's sha256 is ${info.sha256}, not ${f.expectSha256} as the manifest says`);
        }
        if (f.expectMedia && JSON.stringify(sortKeys(f.expectMedia)) !== JSON.stringify(sortKeys(info.media))) {
          problems.add(
            f.shown,
            'media',
            `the manifest says ${JSON.stringify(f.expectMedia)} but the file is ${JSON.stringify(info.media)}`,
          );
        }
      } catch (e) {
        const { field, message } = readError(e);
        problems.add(f.shown, field, message);
      }
      opts.onProgress?.(++done, files.length);
    });
    checkTwins(draft, infos, problems);
    const shape: SetShape = checkSet(draft, infos, problems);

    if (problems.size > 0) return { problems: problems.sorted() };

    const masks: { file: string; sha256: string }[] = draft.masks
      .map((m) => ({ file: m.file, sha256: infos.get(m)!.sha256 }))
      .sort((a, b) => naturalCompare(a.file, b.file));
    let generated = false;
    if (shape.modality === 'image' && masks.length === 0 && shape.image) {
      generated = true;
      const pngs = generateNoiseMasks(shape.image.width, shape.image.height, DEFAULT_MASK_COUNT);
      for (const [i, png] of pngs.entries()) {
        const sha256 = createHash('sha256').update(png).digest('hex');
        if (staging) await staging.putBuffer(sha256, 'png', png);
        masks.push({ file: `${GENERATED_MASK_PREFIX}mask-${String(i + 1).padStart(2, '0')}.png`, sha256 });
      }
      if (draft.generatedMasks && draft.generatedMasks.join() !== masks.map((m) => m.sha256).join()) {
        problems.add(
          dirs[0]!,
          'masks',
          'the generated masks the manifest lists differ from the ones generated now (a different image size or generator version); remove the generated/… masks from the manifest to accept new ones',
        );
        return { problems: problems.sorted() };
      }
    }

    const order = itemOrder(draft.models);
    const input: ManifestInput = {
      name,
      modality: shape.modality,
      ...(draft.description !== undefined ? { description: draft.description } : {}),
      categories: shape.categories,
      models: draft.models,
      masks,
      items: [...draft.items].sort(order).map((i) => ({
        id: i.id,
        file: i.file,
        category: i.category,
        source_id: i.source_id,
        condition: i.condition,
        role: i.role,
        sha256: infos.get(i)!.sha256,
        media: infos.get(i)!.media,
        attributes: sortKeys(i.attributes),
      })),
    };
    const parsed = Manifest.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const [head, idx, ...rest] = issue.path;
        const item = head === 'items' && typeof idx === 'number' ? input.items[idx] : undefined;
        problems.add(
          item ? (draft.items.find((d) => d.id === item.id)?.shown ?? item.file) : dirs[0]!,
          (item ? rest : issue.path).join('.') || undefined,
          issue.message,
        );
      }
      return { problems: problems.sorted() };
    }
    const manifest = parsed.data;
    await opts.beforeCommit?.(manifest);
    const blobsAdded = staging ? await staging.commit() : 0;
    return {
      manifest,
      report: buildReport(manifest, draft.layout, draft, generated, files.length, bytes, blobsAdded),
      problems: [],
    };
  } finally {
    await staging?.discard();
  }
}

/**
 * The folder's name; for a CSV file its name without `.csv`; for several model folders the name
 * of the folder holding them (`exp1` for `exp1/resnet50 exp1/alexnet`).
 */
function defaultName(dirs: string[]): string {
  const abs = dirs.map((d) => path.resolve(d));
  if (abs.length > 1) {
    let common = path.dirname(abs[0]!);
    while (!abs.every((d) => d.startsWith(common + path.sep)) && common !== path.dirname(common)) common = path.dirname(common);
    return path.basename(common);
  }
  return path.basename(abs[0]!).replace(/\.(csv|json)$/i, '');
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Copies of one natural stimulus found in several places (one per model folder) must be identical. */
function checkTwins(draft: Draft, infos: Map<DraftFile, StimulusFileInfo>, problems: Problems): void {
  for (const item of draft.items) {
    const twins = item.twins;
    if (!twins) continue;
    const ref = infos.get(item);
    if (!ref) continue;
    for (const t of twins) {
      const info = infos.get(t);
      if (info && info.sha256 !== ref.sha256) {
        problems.add(
          t.shown,
          'source',
          `differs from ${item.shown}: both are the natural stimulus of source "${item.source_id}" and must be the same file`,
        );
      }
    }
  }
}

/**
 * Imports a set: on any problem throws a StimulusSetError listing all of them (nothing stored);
 * otherwise stores every file in `blobs` and returns the manifest and a report.
 */
export async function importStimulusSet(dir: string | string[], opts: StoreOptions): Promise<ImportResult> {
  const dirs = Array.isArray(dir) ? dir : [dir];
  const r = await run(dirs, opts, opts.blobs);
  if (!r.manifest || !r.report) throw new StimulusSetError(r.problems, dirs.join(' '));
  return { manifest: r.manifest, report: r.report };
}

/** Checks a set without writing anything; returns the problems (empty when it would import). */
export async function validateStimulusSet(dir: string | string[], opts: ImportOptions = {}): Promise<ValidationResult> {
  const dirs = Array.isArray(dir) ? dir : [dir];
  const r = await run(dirs, opts, null);
  return r.manifest && r.report ? { manifest: r.manifest, report: r.report, problems: [] } : { problems: r.problems };
}
