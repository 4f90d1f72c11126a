/**
 * `metamer db backup`: a consistent copy of the SQLite database while the server keeps serving,
 * by SQLite's online backup API (better-sqlite3's `backup`, which copies pages in steps and
 * restarts a step a concurrent write changed, so the copy is one committed state). Written beside
 * the target and renamed into place, so a crash never leaves half a backup under the name.
 *
 * PostgreSQL has its own tool for this: `pg_dump` (docs/deploying.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { userError } from '../http-error.ts';
import { isPostgresUrl } from './open-store.ts';

export interface BackupReport {
  file: string;
  bytes: number;
  /** Rows per table in the backup, read back from it. */
  rows: Record<string, number>;
}

export async function backupDatabase(database: string, target: string, opts: { force?: boolean } = {}): Promise<BackupReport> {
  if (isPostgresUrl(database)) {
    throw userError(
      'a PostgreSQL database is backed up with pg_dump: pg_dump --format=custom --file=<file> "$METAMER_DATABASE_URL" (docs/deploying.md)',
    );
  }
  if (!fs.existsSync(database)) throw userError(`database ${database} does not exist (pass --db or set METAMER_DB)`);
  const file = path.resolve(target);
  if (file === path.resolve(database)) throw userError('the backup cannot be the database itself');
  if (fs.existsSync(file) && !opts.force) throw userError(`${target} exists; choose another name or pass --force`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.partial`;
  const source = new Database(database, { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(tmp);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw userError(`backup of ${database} failed: ${(e as Error).message}`);
  } finally {
    source.close();
  }
  const copy = new Database(tmp, { readonly: true });
  let rows: Record<string, number>;
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw userError(`the backup failed SQLite's integrity check (${String(check)}); ${database} was not changed`);
    rows = tableRows(copy);
  } catch (e) {
    copy.close();
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  copy.close();
  fs.renameSync(tmp, file);
  return { file, bytes: fs.statSync(file).size, rows };
}

/** Rows per table of a SQLite database (SQLite's own tables left out). */
export function tableRows(db: Database.Database): Record<string, number> {
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  return Object.fromEntries(names.map((t) => [t, db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]));
}
