/**
 * Which layout a folder is in when `--from` is not given, from the fixed names each layout has.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImportFormat } from './draft.ts';

/** Which layout a folder is in when `--from` is not given. */
export async function detectLayout(dir: string): Promise<ImportFormat> {
  const exists = (f: string): Promise<boolean> =>
    fs.stat(path.join(dir, f)).then(
      (s) => s.isFile(),
      () => false,
    );
  if (
    await fs.stat(dir).then(
      (s) => s.isFile(),
      () => false,
    )
  ) {
    if (dir.toLowerCase().endsWith('.csv')) return 'csv';
    if (dir.toLowerCase().endsWith('.json')) return 'manifest';
  }
  if (await exists('manifest.json')) return 'manifest';
  if (await exists('manifest.csv')) return 'csv';
  const isDir = (f: string): Promise<boolean> =>
    fs.stat(path.join(dir, f)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  // The metamer-generating code's layouts are recognised by their fixed folder names.
  if ((await isDir('metamers')) && !(await isDir('natural'))) return 'model-metamers';
  if (await isDir('0_orig')) return 'web-layout';
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries)
    if (e.isDirectory() && /^experiment\d+_/.test(e.name) && (await isDir(path.join(e.name, '0_orig')))) return 'web-layout';
  return 'folder';
}
