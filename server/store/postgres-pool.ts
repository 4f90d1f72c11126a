/**
 * Connecting to PostgreSQL (node-postgres, `pg`): a pool per process, BIGINT and NUMERIC read back
 * as JavaScript numbers (unix-ms times and counts are far below 2^53), and the schema brought up to
 * date under an advisory lock, so that several instances starting together migrate once.
 */
import pg from 'pg';
import { userError } from '../http-error.ts';
import { envNumber } from '../env-number.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** The URL without its password, for messages and logs. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * A pool of `METAMER_DATABASE_POOL` connections (default 10). Each instance holds that many at
 * most, so N instances need N × pool below PostgreSQL's max_connections (100 by default).
 */
export function createPool(url: string, max = envNumber('METAMER_DATABASE_POOL', 10, 2)): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, types, application_name: 'metamer' });
  // An idle connection that the server drops (a restart, a failover) must not crash the process;
  // the pool replaces it at the next checkout.
  pool.on('error', () => {});
  return pool;
}

/** A user-facing error for a database that cannot be reached or refuses us. */
export function connectionError(url: string, e: unknown): Error {
  const err = e as { code?: string; message?: string };
  return userError(
    `cannot use the PostgreSQL database ${describePostgresUrl(url)}: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}`,
  );
}

/** A connection of the pool; a database that cannot be reached is the user's error, named. */
export async function connectClient(pool: pg.Pool, url: string): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (e) {
    throw connectionError(url, e);
  }
}

/** The advisory-lock key of a name (hashtextextended: a stable 64-bit hash inside PostgreSQL). */
export const LOCK_KEY = 'hashtextextended($1, 0)';

export async function migratePostgres(pool: pg.Pool, url: string): Promise<void> {
  const client = await connectClient(pool, url);
  try {
    // Session lock: held across the migrations' transactions, released when this returns.
    await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, ['metamer.migrate']);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    let current = rows[0]?.version ?? 0;
    if (rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES (0)');
    if (current > POSTGRES_MIGRATIONS.length) {
      throw userError(
        `database schema version ${current} is newer than this program knows (${POSTGRES_MIGRATIONS.length}); upgrade the program`,
      );
    }
    for (; current < POSTGRES_MIGRATIONS.length; current++) {
      await client.query('BEGIN');
      try {
        await client.query(POSTGRES_MIGRATIONS[current]!);
        await client.query('UPDATE schema_version SET version = $1', [current + 1]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, ['metamer.migrate']).catch(() => {});
    client.release();
  }
}
