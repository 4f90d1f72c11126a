/**
 * `--practice <dir>` for the layouts of the metamer-generating code, which have no practice
 * stimuli of their own: a folder `<category>/<source>.<ext>` of natural stimuli from sources kept
 * apart from the main ones (role practice; used for practice, screening and catch trials).
 */
import path from 'node:path';
import { type Draft, fileKind, ignore } from '../draft.ts';
import type { Problems } from '../problems.ts';
import { walkFiles } from '../walk.ts';
import { categoryFolderItem } from './category-folders.ts';

export async function addPracticeFolder(draft: Draft, dir: string, problems: Problems): Promise<void> {
  const root = path.resolve(dir);
  const { files } = await walkFiles(root);
  for (const rel of files) {
    const item = categoryFolderItem(root, dir, rel, rel.split('/'), 'practice', problems, `practice/${rel}`);
    if (item) draft.items.push(item);
    else if (fileKind(rel) === 'other') ignore(draft, 'other files');
  }
}
