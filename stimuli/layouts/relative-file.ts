/**
 * A `file` named inside a manifest (JSON or CSV) must stay inside the set's folder: relative,
 * "/"-separated, no "..". The manifest is stored and shown later, and a path that points elsewhere
 * would import a file nobody sees in the folder.
 */
import path from 'node:path';

export function relativeFileProblem(file: string): string | null {
  if (file.trim() === '') return 'empty file name';
  if (file.includes('\\')) return 'use "/" as the path separator';
  if (path.posix.isAbsolute(file) || /^[A-Za-z]:/.test(file)) return "must be a path relative to the manifest's folder";
  if (file.split('/').includes('..')) return 'must not leave the manifest\'s folder ("..")';
  return null;
}
