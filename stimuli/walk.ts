/**
 * Lists every regular file under a folder, as "/"-separated relative paths in a stable order.
 * Only names are kept (a 100,000-file tree is a few MB of strings); hidden files and folders
 * (`.DS_Store`, `.git`) are skipped. Symlinked files are followed, symlinked folders are not
 * (a link back up the tree would never end).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface WalkResult {
  files: string[];
  skippedLinks: string[];
}

export async function walkFiles(root: string): Promise<WalkResult> {
  const files: string[] = [];
  const skippedLinks: string[] = [];
  async function visit(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(r);
      else if (e.isFile()) files.push(r);
      else if (e.isSymbolicLink()) {
        const st = await fs.stat(path.join(root, r)).catch(() => null);
        if (st?.isFile()) files.push(r);
        else skippedLinks.push(r);
      }
    }
  }
  await visit('');
  return { files, skippedLinks };
}
