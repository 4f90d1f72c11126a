/**
 * Needs PostgreSQL (runs in the api-postgres project only). The two schemas are one schema: the
 * PostgreSQL migrations mirror the SQLite ones entry for entry, and every SQLite table, view and
 * column exists in PostgreSQL with the same nullability, so `db copy` and the shared queries hold.
 * A migration added to one list and not the other fails here.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import { openDatabase } from '../../server/store/database.ts';
import { POSTGRES_MIGRATIONS } from '../../server/store/postgres-migrations.ts';
import { PostgresStore } from '../../server/store/postgres-store.ts';
import { useTempDirs } from '../fixtures/temp-dir.ts';
import { createDatabase, dropDatabase } from '../support/postgres.ts';
import { withTestDatabase } from '../support/test-database.ts';

const tempDir = useTempDirs();
let url: string;
beforeAll(async () => {
  url = await createDatabase(inject('postgresBase'), 'schema');
  await (await PostgresStore.open(url)).close();
});
afterAll(async () => {
  await dropDatabase(url);
});

it('has one PostgreSQL migration per SQLite migration', () => {
  expect(POSTGRES_MIGRATIONS.length).toBe(MIGRATIONS.length);
});

it('has every SQLite table, view and column, with the same nullability', async () => {
  const db = openDatabase(path.join(await tempDir(), 'm.db'));
  const sqlite = new Map<string, string>();
  for (const { name } of db
    .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string }[]) {
    for (const c of db.prepare(`PRAGMA table_info("${name}")`).all() as { name: string; notnull: number; pk: number }[]) {
      // A SQLite primary key column may hold NULL only by an old quirk; PostgreSQL's never does.
      sqlite.set(`${name}.${c.name}`, c.notnull || c.pk ? 'NOT NULL' : 'NULL');
    }
  }
  db.close();
  const postgres = await withTestDatabase(url, (pg) =>
    pg.all<{ t: string; c: string; nullable: string }>(
      "SELECT table_name AS t, column_name AS c, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = 'public'",
    ),
  );
  const pgColumns = new Map(postgres.map((r) => [`${r.t}.${r.c}`, r.nullable === 'YES' ? 'NULL' : 'NOT NULL']));
  expect(sqlite.size).toBeGreaterThan(40);
  for (const [column, nullability] of sqlite) {
    // Views report every column nullable in PostgreSQL; only their presence is compared.
    const expected = column.startsWith('trial_rows.') ? 'NULL' : nullability;
    expect(pgColumns.get(column), column).toBe(expected);
  }
});
