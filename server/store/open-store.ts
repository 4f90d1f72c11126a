/**
 * The one place that turns "which database" into a Store. A database is named by one string: a
 * SQLite file (the default, `--db`), or a `postgres://` URL (METAMER_DATABASE_URL, which wins).
 * The PostgreSQL client is loaded only when a URL is given, so SQLite users never load it.
 */
import type { StudyDataSource } from '../../analysis/load-study-db.ts';
import { userError } from '../http-error.ts';
import type { Store } from './store.ts';

export const DATABASE_URL_ENV = 'METAMER_DATABASE_URL';

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/** The database in force: METAMER_DATABASE_URL when set, else the SQLite file. */
export function databaseFor(sqliteFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = env[DATABASE_URL_ENV]?.trim();
  if (!url) return sqliteFile;
  if (!isPostgresUrl(url)) throw userError(`${DATABASE_URL_ENV} must be a postgres:// URL, not "${url.slice(0, 40)}"`);
  return url;
}

export interface OpenStoreOptions {
  /** A server process: SQLite checkpoints its WAL in a worker thread (checkpointer.ts). */
  serving?: { onWarning: (message: string) => void };
}

export async function openStore(database: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(database)) {
    const { PostgresStore } = await import('./postgres-store.ts');
    return PostgresStore.open(database);
  }
  const { SqliteStore } = await import('./sqlite-store.ts');
  return new SqliteStore(database, opts.serving ? { checkpoints: { onError: opts.serving.onWarning } } : {});
}

/**
 * The analysis loaders' read-only view, for `metamer analyze` and `metamer export`: a SQLite file
 * that does not exist is an error (never created), and nothing is migrated.
 */
export async function openStudyData(database: string): Promise<StudyDataSource & { close(): Promise<void> }> {
  if (isPostgresUrl(database)) {
    const { PostgresStore } = await import('./postgres-store.ts');
    const store = await PostgresStore.open(database);
    return Object.assign(store.studyData, { close: () => store.close() });
  }
  const { openReadOnly, SqliteStudyData } = await import('./sqlite-study-data.ts');
  const db = openReadOnly(database);
  const data = new SqliteStudyData(db, database);
  return Object.assign(data, {
    close: async () => {
      db.close();
    },
  });
}

/** Runs `work` with a store on `database`, closing it afterwards (the CLI's one-shot commands). */
export async function withStore<T>(database: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(database);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
