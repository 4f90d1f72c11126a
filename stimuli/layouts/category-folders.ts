/**
 * `<category>/<source>.<ext>` folders: the natural and practice parts of the plain tree, and the
 * practice folder the other layouts accept.
 */
import path from 'node:path';
import { type DraftItem, UNSUPPORTED_MEDIA, fileKind } from '../draft.ts';
import { NATURAL, Slug, type ItemRole } from '../manifest.ts';
import type { Problems } from '../problems.ts';

export const stemOf = (name: string): string => name.replace(/\.[^.]*$/, '');

/**
 * One file of such a folder as an item; `parts` are [category, fileName], `prefix` is the path of
 * the folder inside the import root ('' for a root of its own). Returns null (with a problem, or
 * silently for non-media files) when the file is not a stimulus.
 */
export function categoryFolderItem(
  root: string,
  shownRoot: string,
  rel: string,
  parts: string[],
  role: ItemRole,
  problems: Problems,
  fileRel: string = rel,
): DraftItem | null {
  const shown = path.join(shownRoot, rel);
  const kind = fileKind(rel);
  if (kind === 'other') return null;
  if (parts.length !== 2) {
    problems.add(
      shown,
      undefined,
      `not in a recognised place: expected ${role === 'practice' ? 'practice' : 'natural'}/<category>/<source>.<ext>`,
    );
    return null;
  }
  if (kind === 'unsupported-media') {
    problems.add(shown, 'format', UNSUPPORTED_MEDIA);
    return null;
  }
  const [category, name] = parts as [string, string];
  const source = stemOf(name);
  if (!Slug.safeParse(source).success) {
    problems.add(shown, 'source', `source id "${source}" (the file name) must use letters, digits, ".", "_" and "-" only`);
    return null;
  }
  return {
    abs: path.join(root, rel),
    file: fileRel,
    shown,
    id: `${role === 'practice' ? 'practice' : NATURAL}__${source}`,
    category,
    source_id: source,
    condition: NATURAL,
    role,
    attributes: {},
  };
}
