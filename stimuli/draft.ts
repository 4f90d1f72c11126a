/**
 * What a layout reader makes of a folder before any file is opened: the items it found, with
 * their condition and category from names and folders. The importer then reads every file's
 * headers, checks the set as a whole and turns the draft into a manifest.
 */
import type { Condition, ItemRole, Media, Modality } from './manifest.ts';

export const IMPORT_FORMATS = ['folder', 'csv', 'manifest', 'model-metamers', 'web-layout'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export type AttributeValue = string | number | boolean | null;
export type Attributes = Record<string, AttributeValue>;

export interface DraftFile {
  /** Absolute path, to read. */
  abs: string;
  /** The manifest's `file`: relative to the import folder, "/" separators, no absolute parts. */
  file: string;
  /** How problems name it: the folder as the user gave it joined with `file`. */
  shown: string;
  /** A digest the source manifest already claims; checked against the bytes. */
  expectSha256?: string;
  /** Media facts the source manifest already claims; checked against the headers. */
  expectMedia?: Media;
}

export interface DraftItem extends DraftFile {
  id: string;
  category: string;
  source_id: string;
  condition: Condition;
  role: ItemRole;
  attributes: Attributes;
  /** Other copies of this natural stimulus (one per model folder); they must be byte-identical. */
  twins?: DraftFile[];
}

export interface Draft {
  layout: ImportFormat;
  /** Set name the layout itself carries (a manifest's `name`); `--name` overrides. */
  name?: string;
  /** Declared modality (manifests); otherwise inferred from the files. */
  modality?: Modality;
  description?: string;
  /** Declared category order, and the file that declared it (for problems). */
  categories?: { names: string[]; shown: string };
  models: { model: string; layers: string[] }[];
  items: DraftItem[];
  masks: DraftFile[];
  /** sha256 of generated masks a manifest lists; the regenerated ones must match. */
  generatedMasks?: string[];
  /** Files deliberately left out, counted by reason (diagnostic figures, failed metamers, …). */
  ignored: Record<string, number>;
}

export function ignore(draft: Pick<Draft, 'ignored'>, reason: string): void {
  draft.ignored[reason] = (draft.ignored[reason] ?? 0) + 1;
}

/**
 * Orders names the way people number files ("2" before "10"), independently of the locale so that
 * manifests are byte-identical on every machine.
 */
export function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * A CSV cell as an attribute value: empty → absent, a plain decimal number → number,
 * true/false → boolean, anything else stays text. Numbers with leading zeros ("007") stay text,
 * because they are usually identifiers.
 */
export function attributeFromCell(cell: string): AttributeValue | undefined {
  const v = cell.trim();
  if (v === '') return undefined;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

const STIMULUS_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'wav']);
/** Media a browser might show but the platform does not serve: named so they are not skipped silently. */
const OTHER_MEDIA_EXTENSIONS = new Set([
  'gif',
  'bmp',
  'webp',
  'tif',
  'tiff',
  'svg',
  'heic',
  'avif',
  'mp3',
  'flac',
  'ogg',
  'oga',
  'opus',
  'm4a',
  'aac',
  'aif',
  'aiff',
  'mp4',
  'webm',
]);

export type FileKind = 'stimulus' | 'unsupported-media' | 'other';

export function fileKind(rel: string): FileKind {
  const m = /\.([^./]+)$/.exec(rel);
  const ext = m ? m[1]!.toLowerCase() : '';
  if (STIMULUS_EXTENSIONS.has(ext)) return 'stimulus';
  if (OTHER_MEDIA_EXTENSIONS.has(ext)) return 'unsupported-media';
  return 'other';
}

export function extensionOf(rel: string): string {
  const m = /\.([^./]+)$/.exec(rel);
  return m ? m[1]!.toLowerCase() : '';
}

export const UNSUPPORTED_MEDIA = 'unsupported file type: the platform serves PNG, JPEG and WAV stimuli';
