/**
 * `metamer db copy --to postgres://…`: moves a SQLite deployment into an empty PostgreSQL
 * database, all or nothing. Every table the SQLite schema has is copied as it is (the PostgreSQL
 * schema mirrors it column for column: postgres-migrations.ts), parents before children, in one
 * transaction; before it commits, the row count of every table and a sha256 of every trial (all its
 * columns, in key order) are compared between the two databases, and any difference rolls the
 * whole copy back. Tables other modules add later are copied the same way, with no change here.
 *
 * Run it with the server stopped (or paused and idle): rows written to SQLite after the copy
 * started are not in it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type pg from 'pg';
import type { Db } from './database.ts';
import { openDatabase } from './database.ts';
import { userError } from '../http-error.ts';
import { isPostgresUrl } from './open-store.ts';
import { connectClient, createPool, describePostgresUrl, migratePostgres } from './postgres-pool.ts';

export interface CopyReport {
  from: string;
  to: string;
  /** Rows per table, equal on both sides (checked). */
  rows: Record<string, number>;
  /** Trials whose every column matched, and the sha256 over all of them in key order. */
  trials_verified: number;
  trials_sha256: string;
}

/** Rows per INSERT: 15 columns × 500 stays far below PostgreSQL's 65,535 parameters. */
const BATCH = 500;
const TRIAL_KEY = ['session_id', 'trial_index'];

/** The tables to copy, each after the tables it references. */
function tablesInOrder(db: Db): string[] {
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const parents = new Map(
    names.map((t) => [t, (db.prepare(`PRAGMA foreign_key_list("${t}")`).all() as { table: string }[]).map((f) => f.table)]),
  );
  const out: string[] = [];
  const visit = (t: string, path: string[]) => {
    if (out.includes(t)) return;
    if (path.includes(t)) throw new Error(`foreign keys form a cycle through ${t}`);
    for (const p of parents.get(t) ?? []) if (p !== t && names.includes(p)) visit(p, [...path, t]);
    out.push(t);
  };
  for (const t of names) visit(t, []);
  return out;
}

function columnsOf(db: Db, table: string): string[] {
  return (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function insertBatch(c: pg.PoolClient, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  const values: unknown[] = [];
  const tuples = rows.map(
    (r) =>
      `(${r
        .map((v) => {
          values.push(v);
          return `$${values.length}`;
        })
        .join(', ')})`,
  );
  await c.query(`INSERT INTO ${quoted(table)} (${columns.map(quoted).join(', ')}) VALUES ${tuples.join(', ')}`, values);
}

/** sha256 of one trial row's values, in column order (numbers and text as JSON, so both sides hash alike). */
function rowHash(row: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(row)).digest('hex');
}

export async function copySqliteToPostgres(
  file: string,
  url: string,
  onTable?: (table: string, rows: number) => void,
): Promise<CopyReport> {
  if (isPostgresUrl(file)) throw userError('db copy reads a SQLite database: unset METAMER_DATABASE_URL and name the file with --db');
  if (!isPostgresUrl(url)) throw userError(`--to must be a postgres:// URL, not "${url.slice(0, 40)}"`);
  if (!fs.existsSync(file)) throw userError(`database ${file} does not exist (pass --db or set METAMER_DB)`);
  const sqlite = openDatabase(file);
  const pool = createPool(url, 2);
  try {
    await migratePostgres(pool, url);
    const tables = tablesInOrder(sqlite);
    const client = await connectClient(pool, url);
    try {
      await client.query('BEGIN');
      const rows: Record<string, number> = {};
      for (const table of tables) {
        const columns = columnsOf(sqlite, table);
        const target = await client.query<{ column_name: string }>(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        );
        const have = new Set(target.rows.map((r) => r.column_name));
        if (have.size === 0)
          throw userError(`the PostgreSQL schema has no table "${table}": this program's PostgreSQL migrations lag its SQLite ones`);
        const missing = columns.filter((c) => !have.has(c));
        if (missing.length) throw userError(`the PostgreSQL table "${table}" lacks column(s) ${missing.join(', ')}`);
        const present = await client.query(`SELECT 1 FROM ${quoted(table)} LIMIT 1`);
        if (present.rowCount)
          throw userError(`${describePostgresUrl(url)} already has rows in "${table}": db copy only fills an empty database`);
        let n = 0;
        let batch: unknown[][] = [];
        for (const row of sqlite
          .prepare(`SELECT ${columns.map(quoted).join(', ')} FROM ${quoted(table)}`)
          .raw()
          .iterate() as Iterable<unknown[]>) {
          batch.push(row);
          if (batch.length === BATCH) {
            await insertBatch(client, table, columns, batch);
            n += batch.length;
            batch = [];
          }
        }
        if (batch.length) await insertBatch(client, table, columns, batch);
        rows[table] = n + batch.length;
        onTable?.(table, rows[table]);
      }
      await resetIdentities(client);
      for (const table of tables) {
        const { rows: r } = await client.query<{ n: number }>(`SELECT count(*) AS n FROM ${quoted(table)}`);
        if (r[0]!.n !== rows[table])
          throw userError(`"${table}": ${rows[table]} rows in SQLite but ${r[0]!.n} in PostgreSQL; nothing was copied`);
      }
      const verified = await verifyTrials(sqlite, client, columnsOf(sqlite, 'trials'));
      await client.query('COMMIT');
      return { from: file, to: describePostgresUrl(url), rows, trials_verified: verified.count, trials_sha256: verified.sha256 };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  } finally {
    sqlite.close();
    await pool.end();
  }
}

/** Identity columns (none yet; a later table may have one) continue after the copied values. */
async function resetIdentities(c: pg.PoolClient): Promise<void> {
  const { rows } = await c.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'",
  );
  for (const r of rows) {
    await c.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT max(${quoted(r.column_name)}) FROM ${quoted(r.table_name)}), 1))`,
      [quoted(r.table_name), r.column_name],
    );
  }
}

/** Trials read from PostgreSQL per page while verifying (a million-trial study never sits in memory). */
const VERIFY_PAGE = 10_000;

/** Compares every trial, column by column via its hash, walking both databases in key order. */
async function verifyTrials(sqlite: Db, c: pg.PoolClient, columns: string[]): Promise<{ count: number; sha256: string }> {
  const list = columns.map(quoted).join(', ');
  const [sessionCol, indexCol] = [columns.indexOf('session_id'), columns.indexOf('trial_index')];
  let page: unknown[][] = [];
  let at = 0;
  const nextPage = async (after: unknown[] | undefined) => {
    const res = await c.query<unknown[]>({
      text: after
        ? `SELECT ${list} FROM trials WHERE session_id COLLATE "C" > $1 OR (session_id = $1 AND trial_index > $2)
            ORDER BY session_id COLLATE "C", trial_index LIMIT ${VERIFY_PAGE}`
        : `SELECT ${list} FROM trials ORDER BY session_id COLLATE "C", trial_index LIMIT ${VERIFY_PAGE}`,
      values: after ? [after[sessionCol], after[indexCol]] : [],
      rowMode: 'array',
    });
    page = res.rows;
    at = 0;
  };
  await nextPage(undefined);
  const all = createHash('sha256');
  let count = 0;
  for (const row of sqlite
    .prepare(`SELECT ${list} FROM trials ORDER BY ${TRIAL_KEY.join(', ')}`)
    .raw()
    .iterate() as Iterable<unknown[]>) {
    if (at === page.length && page.length === VERIFY_PAGE) await nextPage(page[page.length - 1]);
    const theirs = page[at++];
    const h = rowHash(row);
    if (!theirs || rowHash(theirs) !== h) {
      throw userError(
        `trial ${String(row[sessionCol])}#${String(row[indexCol])} differs between SQLite and PostgreSQL after the copy; ` +
          'nothing was copied',
      );
    }
    all.update(h);
    count++;
  }
  let extra = at < page.length;
  if (!extra && page.length === VERIFY_PAGE) {
    await nextPage(page[page.length - 1]);
    extra = page.length > 0;
  }
  if (extra) throw userError(`PostgreSQL has more trials than SQLite's ${count}; nothing was copied`);
  return { count, sha256: all.digest('hex') };
}
