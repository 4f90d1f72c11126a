/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: Debian's PostgreSQL 15 server binaries
 * (`apt-get install postgresql`; .ci/run does it), `initdb` into a temporary folder and `pg_ctl` on
 * a free port of 127.0.0.1, with trust authentication (loopback only, and the folder is deleted
 * afterwards). As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root),
 * so that user owns the folder. Each test server gets a database of its own (`createDatabase`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './server-process.ts';

const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'];

export interface PostgresCluster {
  /** The server's URL without a database name. */
  readonly base: string;
  stop(): Promise<void>;
}

/** Runs one statement on the cluster's `postgres` database (CREATE/DROP DATABASE need no transaction). */
async function onCluster(base: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${base}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new empty database with a unique name on the cluster at `base`; returns its URL. */
export async function createDatabase(base: string, prefix = 'metamer'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onCluster(base, `CREATE DATABASE ${name}`);
  return `${base}/${name}`;
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a test database: ${name}`);
  await onCluster(`${u.protocol}//${u.username}@${u.host}`, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

function binDir(): string {
  const dir = BIN_DIRS.find((d) => fs.existsSync(path.join(d, 'pg_ctl')));
  if (!dir) {
    throw new Error("These tests need a real PostgreSQL server: install Debian's `postgresql` (apt-get install postgresql); .ci/run does.");
  }
  return dir;
}

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
function runAsOwner(bin: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * `durable`: PostgreSQL's defaults (fsync and synchronous commit on), for benchmarks; tests turn
 * fsync off, since their cluster is thrown away.
 */
export async function startPostgresCluster(opts: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metamer-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = userIds('postgres');
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  try {
    runAsOwner(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8']);
    // Enough connections for the API suite's parallel servers (each pool holds up to 10).
    const durability = opts.durable ? '' : ' -c fsync=off';
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB${durability}`;
    runAsOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  } catch (e) {
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL test cluster did not start: ${(e as Error).message}\n${log}`);
  }
  return {
    base: `postgres://postgres@127.0.0.1:${port}`,
    async stop() {
      try {
        runAsOwner(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  return { uid, gid };
}
