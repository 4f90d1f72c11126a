/**
 * Opening the SQLite file: WAL with synchronous=NORMAL (a process crash loses nothing that was
 * committed; only a power cut can lose the last transactions), foreign keys on, migrations applied.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';
import { userError } from '../http-error.ts';

export type Db = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
}

export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (!opts.readonly) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  // A second process (the CLI while the server runs) waits for the writer instead of failing.
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronousSetting()}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}

/**
 * NORMAL (the default) survives any crash of this process; FULL also survives a power cut or a
 * kernel panic, at the cost of an fsync per transaction (METAMER_SYNCHRONOUS=FULL).
 */
export function synchronousSetting(value = process.env.METAMER_SYNCHRONOUS): 'NORMAL' | 'FULL' | 'EXTRA' {
  const v = (value ?? 'NORMAL').toUpperCase();
  if (v === 'NORMAL' || v === 'FULL' || v === 'EXTRA') return v;
  throw userError(`METAMER_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not "${value}"`);
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw userError(`database schema version ${current} is newer than this program knows (${MIGRATIONS.length}); upgrade the program`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
