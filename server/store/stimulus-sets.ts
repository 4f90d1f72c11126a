/**
 * Stimulus sets in the store: the validated manifest, and a row per servable file. The rules that
 * do not depend on the database (what a set's files are, its summary) are here for both stores;
 * the functions taking a `Db` are the SQLite store's.
 */
import { createHash } from 'node:crypto';
import { type BlobExt, extOfMedia, MIME_BY_EXT } from '../../stimuli/blob-store.ts';
import { conditionKey, Manifest } from '../../stimuli/manifest.ts';
import type { Db } from './database.ts';
import { userError } from '../http-error.ts';

export interface StimulusSetSummary {
  name: string;
  modality: 'image' | 'audio';
  digest: string;
  items: number;
  sources: number;
  categories: number;
  conditions: number;
  imported_at: number;
}

export function manifestDigest(manifest: Manifest): string {
  return createHash('sha256').update(JSON.stringify(manifest)).digest('hex');
}

export class SetExistsError extends Error {
  readonly expose = true;
  readonly status = 409;
  constructor(name: string) {
    super(`stimulus set "${name}" already exists with different content; import it under a new --name`);
  }
}

/** The servable files a manifest names (every item and mask, imported: with sha256 and media). */
export function manifestBlobs(manifest: Manifest): { sha256: string; ext: BlobExt; mime: string }[] {
  const out: { sha256: string; ext: BlobExt; mime: string }[] = [];
  for (const item of manifest.items) {
    if (!item.sha256 || !item.media) throw new Error(`item ${item.id} was not imported (no sha256/media)`);
    const ext = extOfMedia(item.media);
    out.push({ sha256: item.sha256, ext, mime: MIME_BY_EXT[ext] });
  }
  for (const mask of manifest.masks) {
    if (!mask.sha256) throw new Error(`mask ${mask.file} was not imported (no sha256)`);
    out.push({ sha256: mask.sha256, ext: 'png', mime: MIME_BY_EXT.png });
  }
  return out;
}

/**
 * Stores an imported manifest (every item with sha256 and media). The same manifest again is a
 * no-op; a different one under the same name is refused, because sessions' plans refer to it.
 */
export function saveStimulusSet(db: Db, input: Manifest): 'created' | 'unchanged' {
  const manifest = Manifest.parse(input);
  const digest = manifestDigest(manifest);
  const existing = db.prepare('SELECT digest FROM stimulus_sets WHERE name = ?').get(manifest.name) as { digest: string } | undefined;
  if (existing) {
    if (existing.digest === digest) return 'unchanged';
    throw new SetExistsError(manifest.name);
  }
  const insertBlob = db.prepare('INSERT INTO blobs (sha256, ext, mime) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING');
  db.transaction(() => {
    db.prepare('INSERT INTO stimulus_sets (name, modality, digest, manifest, imported_at) VALUES (?, ?, ?, ?, ?)').run(
      manifest.name,
      manifest.modality,
      digest,
      JSON.stringify(manifest),
      Date.now(),
    );
    for (const b of manifestBlobs(manifest)) insertBlob.run(b.sha256, b.ext, b.mime);
  })();
  return 'created';
}

export function getStimulusSet(db: Db, name: string): Manifest | undefined {
  const row = db.prepare('SELECT manifest FROM stimulus_sets WHERE name = ?').get(name) as { manifest: string } | undefined;
  return row ? (JSON.parse(row.manifest) as Manifest) : undefined;
}

export interface StoredSetRow {
  name: string;
  modality: 'image' | 'audio';
  digest: string;
  manifest: string;
  imported_at: number;
}

export function setSummary(r: StoredSetRow): StimulusSetSummary {
  const m = JSON.parse(r.manifest) as Manifest;
  const conditions = new Set(m.items.map((i) => conditionKey(i.condition)));
  return {
    name: r.name,
    modality: r.modality,
    digest: r.digest,
    items: m.items.length,
    sources: new Set(m.items.filter((i) => i.role === 'main').map((i) => i.source_id)).size,
    categories: m.categories.length,
    conditions: conditions.size,
    imported_at: r.imported_at,
  };
}

export function listStimulusSets(db: Db): StimulusSetSummary[] {
  const rows = db.prepare('SELECT name, modality, digest, manifest, imported_at FROM stimulus_sets ORDER BY name').all() as StoredSetRow[];
  return rows.map(setSummary);
}

/** Registers a generated file (a noise mask, a headphone-check sound) as servable. */
export function registerBlob(db: Db, sha256: string, ext: BlobExt): void {
  db.prepare('INSERT INTO blobs (sha256, ext, mime) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING').run(sha256, ext, MIME_BY_EXT[ext]);
}

/** The files of one stored set (its items and masks), by hash; a clear error when there is no such set. */
export function setBlobs(setName: string, manifest: Manifest | undefined): { sha256: string; ext: BlobExt }[] {
  if (!manifest) throw userError(`no stimulus set "${setName}" (see metamer stimuli list)`);
  const out = new Map<string, BlobExt>();
  for (const item of manifest.items) out.set(item.sha256!, extOfMedia(item.media!));
  for (const mask of manifest.masks) out.set(mask.sha256!, 'png');
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sha256, ext]) => ({ sha256, ext }));
}

/** Every servable file, optionally only those of one set (its items and masks). */
export function listBlobs(db: Db, setName?: string): { sha256: string; ext: BlobExt }[] {
  if (!setName) return db.prepare('SELECT sha256, ext FROM blobs ORDER BY sha256').all() as { sha256: string; ext: BlobExt }[];
  return setBlobs(setName, getStimulusSet(db, setName));
}
