/**
 * Direct SQL on a test server's database, whichever it is, for tests that check what was stored
 * or age a row (the store's interface is what they test; this is how they look behind it). Queries
 * are written once with `?` placeholders; on PostgreSQL they become `$1, $2, …`. Both schemas
 * store flags as 0/1 integers and times as numbers, so rows compare alike.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from '../../server/store/open-store.ts';

export interface TestDatabase {
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T | undefined>;
  /** The names of a query's result columns (also of an empty result). */
  columns(sql: string): Promise<string[]>;
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, ...params: unknown[]): Promise<number>;
  close(): Promise<void>;
}

const numbers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // BIGINT and NUMERIC (counts, sums, unix-ms times) as numbers, as better-sqlite3 reads them.
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export async function openTestDatabase(database: string): Promise<TestDatabase> {
  if (isPostgresUrl(database)) {
    const client = new pg.Client({ connectionString: database, types: numbers });
    await client.connect();
    return {
      all: async <T>(sql: string, ...params: unknown[]) => (await client.query(numbered(sql), params)).rows as T[],
      get: async <T>(sql: string, ...params: unknown[]) => (await client.query(numbered(sql), params)).rows[0] as T | undefined,
      run: async (sql, ...params) => (await client.query(numbered(sql), params)).rowCount ?? 0,
      columns: async (sql) => (await client.query(sql)).fields.map((f) => f.name),
      close: () => client.end(),
    };
  }
  const db = new Database(database);
  db.pragma('busy_timeout = 5000');
  return {
    all: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
    get: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).get(...params) as T | undefined,
    run: async (sql, ...params) => db.prepare(sql).run(...params).changes,
    columns: async (sql) =>
      db
        .prepare(sql)
        .columns()
        .map((c) => c.name),
    close: async () => {
      db.close();
    },
  };
}

/** Opens, runs `work`, closes. */
export async function withTestDatabase<T>(database: string, work: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = await openTestDatabase(database);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
